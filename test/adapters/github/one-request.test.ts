import { schema as published } from '@octokit/graphql-schema';
import { buildClientSchema, parse, validate, type IntrospectionQuery } from 'graphql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commitContents, GitHubScm } from '../../../src/adapters/github/scm.ts';
import { FakeGitHub, isWrite } from '../../helpers/fake-github.ts';
import { testProbot } from '../../helpers/webhooks.ts';

const NAME = 'acme/pump-model';
const REPO = { owner: 'acme', repo: 'pump-model' };
const BRANCH = 'edgeship/release/pump/1.0.0-abcdef0';

/** What GitHubScm asks and writes in one GraphQL request, and what it leaves when part of it fails. */
describe('GitHubScm in one request', () => {
  let github: FakeGitHub;
  let scm: GitHubScm;
  let base: string;
  const spec = () => ({
    head: BRANCH,
    base: 'main',
    baseSha: base,
    title: 'release(pump): 1.0.0',
    body: 'The release',
    files: [{ path: '.edgeship/release.json', content: '{}\n' }],
    message: 'release(pump): 1.0.0',
  });

  beforeEach(async () => {
    github = new FakeGitHub();
    base = github.commit(NAME, 'main', { '.github/edgeship.yml': 'model: pump\n' });
    scm = new GitHubScm(await testProbot().probot.auth(42), 1, { contents: commitContents() });
  });
  afterEach(() => {
    const schema = buildClientSchema(published.json as unknown as IntrospectionQuery);
    expect(
      github.documents.flatMap((document) => validate(schema, parse(document)).map((error) => error.message)),
    ).toEqual([]);
    github.done();
  });

  it('asks for files, a check run, a branch head, open release PRs and labelled issues at once', async () => {
    github.addCheckRun(NAME, { head_sha: base, name: 'edgeship/train', external_id: 'key-1' });
    github.addCheckRun(NAME, {
      head_sha: base,
      name: 'edgeship/train',
      external_id: 'key-2',
      app: { id: 15368, slug: 'github-actions' },
    });
    const answers = await scm.ask(REPO, {
      files: { ref: base, paths: ['.github/edgeship.yml', 'absent.yml'] },
      check: { sha: base, name: 'edgeship/train' },
      branch: 'main',
      openPulls: 'edgeship/release/pump/',
      issues: 'edgeship:fleet',
    });
    expect(
      github.calls.map((call) => `${call.method} ${call.path}`).filter((call) => !call.includes('access_tokens')),
    ).toEqual(['POST /graphql']);
    expect(answers).toMatchObject({
      branchHead: base,
      openPulls: [],
      issues: [],
      check: { status: 'completed', conclusion: 'success', externalId: 'key-1' },
    });
    expect([...answers.files]).toEqual([
      ['.github/edgeship.yml', 'model: pump\n'],
      ['absent.yml', undefined],
    ]);
    // A file at a commit is not asked for again.
    await scm.ask(REPO, { files: { ref: base, paths: ['.github/edgeship.yml'] } });
    expect(github.documents.at(-1)).not.toContain('object(expression:');
  });

  it("finds a trigger's key among every check run of a commit retrained 300 times, paging through REST past GraphQL's first 100", async () => {
    for (let index = 0; index < 300; index += 1)
      github.addCheckRun(NAME, { head_sha: base, name: 'edgeship/train', external_id: `key-${index}` });
    const answers = await scm.ask(REPO, { check: { sha: base, name: 'edgeship/train' } });
    expect(answers.check?.keys).toHaveLength(300);
    expect(answers.check?.keys).toContain('key-0');
    expect(answers.check?.externalId).toBe('key-299');
  });

  it('pages through REST past the first 100 open PRs', async () => {
    for (let index = 0; index < 130; index += 1) {
      github.commit(NAME, `edgeship/release/pump/0.${index}.0-abcdef0`, { 'x.txt': String(index) });
      github.openPull(NAME, {
        head: `edgeship/release/pump/0.${index}.0-abcdef0`,
        base: 'main',
        title: `release ${index}`,
        body: '',
      });
    }
    const answers = await scm.ask(REPO, { openPulls: 'edgeship/release/pump/' });
    expect(answers.openPulls).toHaveLength(130);
  });

  it('opens a release PR with its branch and commit in one content-creating request', async () => {
    const pull = await scm.openPullRequest(REPO, spec());
    expect(github.calls.filter(isWrite).map((call) => call.path)).toEqual(['/graphql']);
    const head = github.repo(NAME).branches.get(BRANCH);
    expect(pull).toEqual({
      number: 1,
      url: `https://github.com/${NAME}/pull/1`,
      state: 'open',
      merged: false,
      head: BRANCH,
      headSha: head,
      base: 'main',
      created: true,
    });
    expect(github.file(NAME, BRANCH, '.edgeship/release.json')).toBe('{}\n');
  });

  it('leaves a branch that exists to the step-by-step way, having changed nothing', async () => {
    github.commit(NAME, BRANCH, { '.edgeship/release.json': '{"other":1}\n' });
    const before = github.repo(NAME).branches.get(BRANCH);
    github.openPull(NAME, { head: BRANCH, base: 'main', title: 'release(pump): 1.0.0', body: 'earlier' });
    expect(await scm.openPullRequest(REPO, spec())).toBeUndefined();
    expect(github.repo(NAME).branches.get(BRANCH)).toBe(before);
    expect(github.repo(NAME).pulls).toHaveLength(1);
  });

  it('takes its branch back when the PR fails, and says which part failed', async () => {
    // The branch the release was trained from is gone by now: GitHub refuses the PR after making the branch and commit.
    await expect(scm.openPullRequest(REPO, { ...spec(), base: 'gone' })).rejects.toThrow(
      /^GitHub did not open the pull request from edgeship\/release\/pump\/1\.0\.0-abcdef0: createPullRequest: Base ref must be a branch$/,
    );
    expect(github.repo(NAME).branches.has(BRANCH)).toBe(false);
    expect(github.repo(NAME).pulls).toEqual([]);
  });
});
