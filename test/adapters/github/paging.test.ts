import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GitHubScm } from '../../../src/adapters/github/scm.ts';
import { FakeGitHub } from '../../helpers/fake-github.ts';
import { GitHubOpenApi } from '../../helpers/github-openapi.ts';
import { testProbot } from '../../helpers/webhooks.ts';

const NAME = 'acme/pump-model';
const REPO = { owner: 'acme', repo: 'pump-model' };
const SHA = 'a'.repeat(40);

/** Every list the app reads goes past GitHub's first page (30 by default, 100 at most). */
describe('GitHubScm pages every list', () => {
  let github: FakeGitHub;
  let scm: GitHubScm;
  const model = () => github.repo(NAME);
  const pages = (path: RegExp) => github.calls.filter((call) => call.method === 'GET' && path.test(call.path)).length;

  beforeEach(async () => {
    github = new FakeGitHub();
    github.commit(NAME, 'main', { 'README.md': 'x' });
    scm = new GitHubScm(await testProbot().probot.auth(42));
  });
  afterEach(() => {
    expect(new GitHubOpenApi().check(github.answers)).toEqual([]);
    github.done();
  });

  const deployment = (index: number, environment: string, ref = SHA) => ({
    id: 10_000 + index,
    ref,
    environment,
    payload: {},
    created_at: new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString(),
    statuses: [] as { state: string; description: string }[],
  });

  it('deployments: the newest `limit` across pages, and an environment found on the third page is not made again', async () => {
    model().deployments.push(
      deployment(0, 'pump/canary'),
      ...Array.from({ length: 250 }, (_, index) => deployment(index + 1, `drift/site-${index}`)),
    );
    const listed = await scm.listDeployments(REPO, undefined, 180);
    expect(listed).toHaveLength(180);
    expect(listed[0]?.environment).toBe('drift/site-249');
    expect(pages(/\/deployments$/)).toBe(2);
    expect((await scm.deploymentEnvironments(REPO, SHA)).length).toBe(251);
    await scm.ensureDeployments(REPO, SHA, [
      {
        environment: 'pump/canary',
        description: 'pump 1.0.0, wave canary',
        payload: {},
        status: { state: 'success', description: '1.0.0 to 1 target: 1 healthy' },
      },
    ]);
    expect(model().deployments.filter((entry) => entry.environment === 'pump/canary')).toHaveLength(1);
    expect(model().deployments[0]?.statuses).toEqual([
      { state: 'success', description: '1.0.0 to 1 target: 1 healthy' },
    ]);
  });

  it("comments: the app's marker on the 150th comment is found, so the comment is not posted again; comments since a time, all of them", async () => {
    const at = (index: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString();
    const bot = { login: 'edgeship[bot]', type: 'Bot' };
    model().comments.set(
      7,
      Array.from({ length: 150 }, (_, index) => ({
        id: 20_000 + index,
        body: index === 149 ? 'done <!-- edgeship:wave:pump:1.0.0:canary -->' : `/edgeship promote ${index}`,
        user: index === 149 ? bot : { login: 'writer', type: 'User' },
        created_at: at(index),
      })),
    );
    expect(
      (await scm.markedComments(REPO, 7, '<!-- edgeship:wave:pump:1.0.0:canary -->')).map((comment) => comment.id),
    ).toEqual([20_149]);
    await scm.ensureComment(REPO, 7, '<!-- edgeship:wave:pump:1.0.0:canary -->', 'again');
    expect(model().comments.get(7)).toHaveLength(150);
    expect((await scm.recentComments(REPO, at(0))).filter((comment) => !comment.bot)).toHaveLength(149);
  });

  it('pull requests: every open one, and the 300 closed ones updated last', async () => {
    const pull = (number: number, state: string) => ({
      number,
      head: { ref: `edgeship/release/pump/1.0.${number}-abcdef0`, sha: SHA },
      base: { ref: 'main' },
      title: `release ${number}`,
      body: '',
      state,
      merged_at: null,
      merge_commit_sha: null,
      html_url: `https://github.com/${NAME}/pull/${number}`,
      labels: [],
      requested_teams: [],
    });
    model().pulls.push(
      ...Array.from({ length: 130 }, (_, index) => pull(index + 1, 'open')),
      ...Array.from({ length: 420 }, (_, index) => pull(index + 131, 'closed')),
    );
    expect(await scm.listPullRequests(REPO, 'edgeship/release/pump/', 'open')).toHaveLength(130);
    expect(await scm.listPullRequests(REPO, 'edgeship/release/pump/', 'closed')).toHaveLength(300);
  });

  it('issues: the dashboard found among 150 labelled issues, on the second page', async () => {
    model().issues.push(
      { number: 1, title: 'edgeship fleet: pump', body: 'x', labels: ['edgeship:fleet'], state: 'open' },
      ...Array.from({ length: 150 }, (_, index) => ({
        number: index + 2,
        title: `other ${index}`,
        body: '',
        labels: ['edgeship:fleet'],
        state: 'open',
      })),
    );
    expect(await scm.findIssue(REPO, 'edgeship:fleet', 'edgeship fleet: pump')).toEqual({
      number: 1,
      url: `https://github.com/${NAME}/issues/1`,
    });
    expect(pages(/\/issues$/)).toBe(2);
  });
});
