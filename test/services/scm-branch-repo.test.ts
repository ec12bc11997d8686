import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubScm } from '../../src/adapters/github/scm.ts';
import { GitOpsError } from '../../src/core/errors.ts';
import { ScmBranchRepo } from '../../src/services/scm-branch-repo.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { GitHubOpenApi } from '../helpers/github-openapi.ts';
import { testProbot } from '../helpers/webhooks.ts';

const GITOPS = { owner: 'acme', repo: 'gitops' };

describe('ScmBranchRepo on GitHub (createCommitOnBranch with expectedHeadOid)', () => {
  let github: FakeGitHub;
  let scm: GitHubScm;

  beforeEach(async () => {
    github = new FakeGitHub();
    github.commit('acme/gitops', 'main', { 'README.md': '# GitOps\n' });
    scm = new GitHubScm(await testProbot().probot.auth(42));
  });
  afterEach(() => github.done());

  const append = (path: string, line: string) => async (read: (path: string) => Promise<string | undefined>) => [
    { path, content: `${(await read(path)) ?? ''}${line}\n` },
  ];

  it('reads the files of a change in batched GraphQL queries, not one request per file', async () => {
    const sites = Array.from({ length: 250 }, (_, index) => `sites/site-${index}/kustomization.yaml`);
    github.commit('acme/gitops', 'main', { [sites[7] as string]: 'resources: []\n' });
    const repo = new ScmBranchRepo(scm, GITOPS, 'main');
    const commit = await repo.apply(async (read) => {
      const current = await Promise.all(sites.map(read));
      return sites.map((path, index) => ({ path, content: current[index] ?? 'resources:\n  - pump\n' }));
    }, 'release(pump): 1.0.0');
    expect(commit?.files).toHaveLength(249);
    expect(github.file('acme/gitops', 'main', sites[7] as string)).toBe('resources: []\n');
    expect(github.calls.filter((call) => call.path === '/graphql' && !call.mutation)).toHaveLength(3);
    expect(github.count('GET', /\/contents\//)).toBe(0);
  });

  it('commits a release to thousands of sites as one compare-and-swap commit through the Git Data API, in few calls', async () => {
    const sites = Array.from({ length: 2500 }, (_, index) => `sites/site-${index}/pump/kustomization.yaml`);
    const repo = new ScmBranchRepo(scm, GITOPS, 'main');
    const before = github.calls.length;
    const commit = await repo.apply(
      async () =>
        sites.map((path, index) => ({ path, content: `resources:\n  - ../../../base/edge\n# site ${index}\n` })),
      'release(pump): 1.0.0',
    );
    expect(commit?.files).toHaveLength(2500);
    expect(github.file('acme/gitops', 'main', 'sites/site-2499/pump/kustomization.yaml')).toBe(
      'resources:\n  - ../../../base/edge\n# site 2499\n',
    );
    expect(github.file('acme/gitops', 'main', 'README.md')).toBe('# GitOps\n');
    const writes = github.calls
      .slice(before)
      .filter(
        (call) =>
          call.method !== 'GET' &&
          !(call.path === '/graphql' && !call.mutation) &&
          !call.path.includes('access_tokens'),
      );
    // Two trees of at most 2,000 files, the second on the first, one commit, one ref update; no createCommitOnBranch.
    expect(writes.map((call) => `${call.method} ${call.path.replace('/repos/acme/gitops', '')}`)).toEqual([
      'POST /git/trees',
      'POST /git/trees',
      'POST /git/commits',
      'PATCH /git/refs/heads/main',
    ]);
    expect(new GitHubOpenApi().check(github.answers)).toEqual([]);
    // The files are read in batches of 100 paths, not one query per file.
    expect(github.calls.slice(before).filter((call) => call.path === '/graphql' && !call.mutation)).toHaveLength(25);
  });

  it('takes a large commit for stale when the branch moved, and applies the change again on the new head', async () => {
    const sites = Array.from({ length: 600 }, (_, index) => `sites/site-${index}/pump/kustomization.yaml`);
    const repo = new ScmBranchRepo(scm, GITOPS, 'main');
    let raced = false;
    const commit = await repo.apply(async () => {
      if (!raced) {
        raced = true;
        github.commit('acme/gitops', 'main', { 'log.txt': 'human\n' });
      }
      return sites.map((path) => ({ path, content: 'resources: []\n' }));
    }, 'release(pump): 1.0.0');
    expect(commit?.files).toHaveLength(600);
    expect(github.file('acme/gitops', 'main', 'log.txt')).toBe('human\n');
    expect(github.count('PATCH', /\/git\/refs\/heads\/main$/)).toBe(2);
  });

  it('re-reads and re-applies when another commit lands between read and write', async () => {
    const repo = new ScmBranchRepo(scm, GITOPS, 'main');
    let raced = false;
    const change = async (read: (path: string) => Promise<string | undefined>) => {
      if (!raced) {
        raced = true;
        github.commit('acme/gitops', 'main', { 'log.txt': 'human\n' });
      }
      return append('log.txt', 'bot')(read);
    };
    expect(await repo.apply(change, 'bot')).toMatchObject({ files: ['log.txt'] });
    expect(github.file('acme/gitops', 'main', 'log.txt')).toBe('human\nbot\n');
    expect(github.calls.filter((call) => call.path === '/graphql' && call.mutation)).toHaveLength(2);
  });

  it('lets releases of two models racing on one GitOps repo both land', async () => {
    const a = new ScmBranchRepo(scm, GITOPS, 'main');
    const b = new ScmBranchRepo(scm, GITOPS, 'main');
    await Promise.all([
      a.apply(async () => [{ path: 'models/pump/release.yaml', content: 'version: 1.0.0\n' }], 'release(pump)'),
      b.apply(async () => [{ path: 'models/fan/release.yaml', content: 'version: 2.0.0\n' }], 'release(fan)'),
      a.apply(append('models/index.txt', 'pump'), 'index pump'),
      b.apply(append('models/index.txt', 'fan'), 'index fan'),
    ]);
    expect(github.file('acme/gitops', 'main', 'models/pump/release.yaml')).toBe('version: 1.0.0\n');
    expect(github.file('acme/gitops', 'main', 'models/fan/release.yaml')).toBe('version: 2.0.0\n');
    expect(github.file('acme/gitops', 'main', 'models/index.txt')?.split('\n').filter(Boolean).sort()).toEqual([
      'fan',
      'pump',
    ]);
  });

  it('makes no commit when nothing changes', async () => {
    const repo = new ScmBranchRepo(scm, GITOPS, 'main');
    expect(await repo.apply(async () => [{ path: 'README.md', content: '# GitOps\n' }], 'noop')).toBeUndefined();
    expect(github.calls.filter((call) => call.path === '/graphql' && call.mutation)).toHaveLength(0);
  });

  it('gives up at its deadline, naming the branch and the attempts, when it never stops moving', async () => {
    const repo = new ScmBranchRepo(scm, GITOPS, 'main', { deadlineMs: 300, minWaitMs: 10, maxWaitMs: 40 });
    const change = async (read: (path: string) => Promise<string | undefined>) => {
      github.commit('acme/gitops', 'main', { [`noise-${Math.random()}`]: 'x' });
      return append('log.txt', 'bot')(read);
    };
    const error = await repo.apply(change, 'bot').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitOpsError);
    expect((error as Error).message).toMatch(
      /^acme\/gitops@main kept moving: others committed first in each of (\d+) attempts over [\d.]+ s; try again when fewer writers share the branch$/,
    );
    expect(Number(/each of (\d+)/.exec((error as Error).message)?.[1])).toBeGreaterThan(2);
  });
});
