import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitContents, GitHubScm } from '../../../src/adapters/github/scm.ts';
import { FakeGitHub } from '../../helpers/fake-github.ts';
import { GitHubOpenApi } from '../../helpers/github-openapi.ts';
import { testProbot } from '../../helpers/webhooks.ts';

const NAME = 'acme/pump-model';
const REPO = { owner: 'acme', repo: 'pump-model' };

/** What GitHubScm does not ask GitHub twice: files at a commit, the default branch an event names. */
describe('GitHubScm reads what it already knows once', () => {
  let github: FakeGitHub;
  const reads = (path: RegExp) => github.calls.filter((call) => call.method === 'GET' && path.test(call.path)).length;
  const queries = () => github.calls.filter((call) => call.path === '/graphql' && !call.mutation).length;

  beforeEach(() => {
    github = new FakeGitHub();
  });
  afterEach(() => {
    expect(new GitHubOpenApi().check(github.answers)).toEqual([]);
    github.done();
  });

  it('a file at a commit sha once per app (also absent, also through readFiles); at a branch, every time', async () => {
    const first = github.commit(NAME, 'main', { 'a.yml': 'one', 'b.yml': 'two' });
    const contents = commitContents();
    const octokit = await testProbot().probot.auth(42);
    // Two events, two Scms, one app-wide cache.
    for (const scm of [
      new GitHubScm(octokit, undefined, { contents }),
      new GitHubScm(octokit, undefined, { contents }),
    ]) {
      expect(await scm.readFile(REPO, 'a.yml', first)).toBe('one');
      expect(await scm.readFile(REPO, 'missing.yml', first)).toBeUndefined();
      expect([...(await scm.readFiles(REPO, ['a.yml', 'b.yml', 'gone.yml'], first))]).toEqual([
        ['a.yml', 'one'],
        ['b.yml', 'two'],
        ['gone.yml', undefined],
      ]);
    }
    expect(reads(/\/contents\//)).toBe(2); // a.yml and missing.yml
    expect(queries()).toBe(1); // b.yml and gone.yml; a.yml came from the cache

    const scm = new GitHubScm(octokit, undefined, { contents });
    const second = github.commit(NAME, 'main', { 'a.yml': 'three', 'b.yml': 'two' });
    expect(await scm.readFile(REPO, 'a.yml', 'main')).toBe('three');
    expect(await scm.readFile(REPO, 'a.yml', 'main')).toBe('three');
    expect(reads(/\/contents\//)).toBe(4);
    expect(await scm.readFile(REPO, 'a.yml', second)).toBe('three');
    expect(await scm.readFile(REPO, 'a.yml', first)).toBe('one');
    expect(reads(/\/contents\//)).toBe(5);
  });

  it('the cache holds at most the characters it was given, dropping the least used', async () => {
    const sha = github.commit(NAME, 'main', { 'big.txt': 'x'.repeat(600), 'small.txt': 'y' });
    const scm = new GitHubScm(await testProbot().probot.auth(42), undefined, { contents: commitContents(1000) });
    await scm.readFile(REPO, 'big.txt', sha);
    await scm.readFile(REPO, 'small.txt', sha);
    await scm.readFile(REPO, 'big.txt', sha);
    expect(reads(/\/contents\//)).toBe(2);
    const other = github.commit(NAME, 'main', { 'big.txt': 'z'.repeat(600), 'small.txt': 'y' });
    await scm.readFile(REPO, 'big.txt', other); // 1,201 characters: the first big.txt goes
    await scm.readFile(REPO, 'big.txt', sha);
    expect(reads(/\/contents\//)).toBe(4);
  });

  it('the default branch the event named costs no request; another repo is asked once', async () => {
    github.commit(NAME, 'trunk', { 'README.md': 'x' });
    github.commit('acme/gitops', 'main', { 'README.md': 'x' });
    const scm = new GitHubScm(await testProbot().probot.auth(42), undefined, {
      defaultBranch: { repo: REPO, branch: 'trunk' },
    });
    expect(await scm.defaultBranch(REPO)).toBe('trunk');
    expect(await scm.defaultBranch({ owner: 'acme', repo: 'gitops' })).toBe('main');
    expect(await scm.defaultBranch({ owner: 'acme', repo: 'gitops' })).toBe('main');
    expect(reads(/^\/repos\/[^/]+\/[^/]+$/)).toBe(1);
  });
});
