import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLAIM_EXPIRES_MS } from '../../src/services/bot/command-claim.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { example, testProbot } from '../helpers/webhooks.ts';

const REPO = 'acme/pump-model';

describe('comment commands and drift', () => {
  let github: FakeGitHub;
  let app: ReturnType<typeof testProbot>;
  let sha: string;

  beforeEach(async () => {
    github = new FakeGitHub();
    app = testProbot();
    const config = (await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8')).replace(
      'repo: edgeship-demo/gitops',
      'repo: acme/gitops',
    );
    sha = github.commit(REPO, 'master', {
      '.github/edgeship.yml': config.replace('branches: [main]', 'branches: [master]'),
    });
    github.repo(REPO).roles.set('writer', 'write').set('maintainer', 'maintain').set('reader', 'read');
  });
  afterEach(() => github.done());

  const comment = (body: string, user = 'writer', id = 7001, type = 'User') => {
    const payload = example('issue_comment.created', REPO);
    Object.assign(payload.comment, { id, body, user: { ...payload.comment.user, login: user, type } });
    Object.assign(payload.repository, { default_branch: 'master' });
    return payload;
  };
  // Answers end with the marker of the comment they answer; the tests read the text before it.
  const comments = () =>
    github
      .repo(REPO)
      .comments.get(example('issue_comment.created', REPO).issue.number)
      ?.map((entry) => entry.body.replace(/\n\n<!-- edgeship:command:\d+ -->$/, '')) ?? [];

  it('retrains the default branch for a collaborator with write access, once per comment', async () => {
    for (let delivery = 0; delivery < 5; delivery += 1)
      await app.receive('issue_comment.created', comment('/edgeship retrain'));
    await app.settle();
    expect(github.repo(REPO).dispatches).toMatchObject([
      { ref: 'master', inputs: { sha, reason: 'retrain', context: expect.stringContaining('@writer') as string } },
    ]);
    expect(comments()).toEqual([expect.stringMatching(/^Training master at [0-9a-f]{7} again, as @writer asked/)]);
    await app.receive('issue_comment.created', comment('/edgeship retrain', 'maintainer', 7002));
    await app.settle();
    expect(github.repo(REPO).dispatches).toHaveLength(2);
  });

  // A replica stopped between opening the check and dispatching, or between dispatching and saying
  // so: the comment comes back (its claim expired) and must end in one dispatch either way.
  const trainChecks = () => github.repo(REPO).checkRuns.filter((check) => check.name === 'edgeship/train');
  /** Another replica, once the stopped one's claim has expired. */
  let later: ReturnType<typeof testProbot>;
  beforeEach(() => {
    later = testProbot({ now: () => Date.now() + CLAIM_EXPIRES_MS + 1000 });
  });

  it('dispatches a retrain whose replica stopped before the dispatch when the comment is taken again, once', async () => {
    github.failOnce.push({ method: 'POST', path: /\/dispatches$/ });
    await app.receive('issue_comment.created', comment('/edgeship retrain'));
    await expect(app.settle()).rejects.toThrow();
    app.errors.splice(0);
    expect(github.repo(REPO).dispatches).toHaveLength(0);
    expect(trainChecks().map((check) => check.status)).toEqual(['queued']);
    // Not while the claim holds; once it has expired, the command is taken again.
    await app.receive('issue_comment.created', comment('/edgeship retrain'));
    await app.settle();
    expect(github.repo(REPO).dispatches).toHaveLength(0);
    for (let delivery = 0; delivery < 2; delivery += 1) {
      await later.receive('issue_comment.created', comment('/edgeship retrain'));
      await later.settle();
    }
    expect(github.repo(REPO).dispatches).toHaveLength(1);
    expect(trainChecks().map((check) => [check.status, check.external_id])).toEqual([
      ['in_progress', github.repo(REPO).dispatches[0]?.inputs.run_key],
    ]);
    expect(comments()).toEqual([expect.stringMatching(/^Training master at [0-9a-f]{7} again/)]);
  });

  it('does not dispatch again a retrain whose replica stopped after the dispatch: the run carries its key', async () => {
    github.failOnce.push({ method: 'PATCH', path: /\/check-runs\/\d+$/ });
    await app.receive('issue_comment.created', comment('/edgeship retrain'));
    await expect(app.settle()).rejects.toThrow();
    app.errors.splice(0);
    expect(github.repo(REPO).dispatches).toHaveLength(1);
    expect(trainChecks().map((check) => check.status)).toEqual(['queued']);
    const key = github.repo(REPO).dispatches[0]?.inputs.run_key as string;
    expect(github.repo(REPO).runs.map((run) => run.display_title)).toEqual([`edgeship train retrain ${key}`]);
    // A burst of other commands dispatched 150 runs since: the run looked for is past the first page.
    for (let other = 0; other < 150; other += 1)
      github.addRun(REPO, {
        head_sha: sha,
        head_branch: 'master',
        status: 'queued',
        workflow: 'edgeship-train.yml',
        display_title: `edgeship train retrain other-key-${other}`,
      });
    await later.receive('issue_comment.created', comment('/edgeship retrain'));
    await later.settle();
    expect(github.repo(REPO).dispatches).toHaveLength(1);
    expect(trainChecks().map((check) => [check.status, check.external_id])).toEqual([['in_progress', key]]);
    expect(comments()).toEqual([expect.stringMatching(/^Training master at [0-9a-f]{7} again/)]);
  });

  it('refuses users without write access, checked through the permission API', async () => {
    await app.receive('issue_comment.created', comment('/edgeship retrain', 'reader'));
    await app.receive('issue_comment.created', comment('/edgeship retrain', 'stranger', 7003));
    await app.settle();
    expect(github.repo(REPO).dispatches).toHaveLength(0);
    expect(comments()).toEqual([
      '@reader edgeship commands need write, maintain or admin permission on this repository (yours: read).',
      '@stranger edgeship commands need write, maintain or admin permission on this repository (yours: none).',
    ]);
    expect(github.count('GET', /collaborators\/(reader|stranger)\/permission$/)).toBe(2);
  });

  it('answers help and unknown commands with the command list', async () => {
    await app.receive('issue_comment.created', comment('/edgeship help'));
    await app.receive('issue_comment.created', comment('/edgeship deploy', 'writer', 7004));
    await app.settle();
    expect(comments()[0]).toContain('| `/edgeship retrain` |');
    expect(comments()[1]).toMatch(/^`\/edgeship deploy` is not an edgeship command\.\n\n\| command \|/);
  });

  it('ignores ordinary comments and bots without calling GitHub', async () => {
    await app.receive('issue_comment.created', comment('Looks good to me'));
    await app.receive('issue_comment.created', comment('/edgeship retrain', 'edgeship[bot]', 7005, 'Bot'));
    await app.settle();
    expect(github.calls).toEqual([]);
  });

  const drift = (payload: Record<string, unknown>) => {
    const event = example('repository_dispatch', REPO);
    Object.assign(event, { action: 'edgeship-drift', client_payload: payload });
    Object.assign(event.repository, { default_branch: 'master' });
    return event;
  };
  const evidence = {
    model: 'pump-forecaster',
    site: 'plant-north',
    version: '1.0.0',
    features: [{ name: 'temperature', score: 0.31 }],
  };

  it('retrains on drift evidence at most once per cooldown window', async () => {
    for (let delivery = 0; delivery < 10; delivery += 1) await app.receive('repository_dispatch', drift(evidence));
    await app.settle();
    const dispatches = github.repo(REPO).dispatches;
    expect(dispatches).toHaveLength(1);
    expect(dispatches[0]?.inputs).toMatchObject({ sha, reason: 'drift' });
    expect(JSON.parse(dispatches[0]?.inputs.context ?? '{}')).toMatchObject({
      site: 'plant-north',
      summary: 'drift at plant-north: temperature=0.31',
    });
  });

  it('records and retrains once when the same evidence arrives 60 times at once, as redeliveries and busy gateways send it', async () => {
    await Promise.all(Array.from({ length: 60 }, () => app.receive('repository_dispatch', drift(evidence))));
    await app.settle();
    expect(github.repo(REPO).dispatches).toHaveLength(1);
    expect(
      github
        .repo(REPO)
        .deployments.map((deployment) => [deployment.environment, deployment.statuses.map((status) => status.state)]),
    ).toEqual([['edgeship-drift/pump-forecaster/plant-north', ['success']]]);
  });

  it('records nothing for a site that is not a target of the model', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, index) =>
        app.receive('repository_dispatch', drift({ ...evidence, site: `stranger-${index}` })),
      ),
    );
    await app.settle();
    expect(github.repo(REPO).dispatches).toEqual([]);
    expect(github.repo(REPO).deployments).toEqual([]);
  });

  it('keeps the drift cooldown per site as a sliding window that a retrain in between does not reset', async () => {
    const hours = (count: number) => count * 60 * 60_000;
    // The first evidence was recorded five hours ago (the cooldown is six).
    github.now = () => new Date(Date.now() - hours(5));
    await app.receive('repository_dispatch', drift(evidence));
    await app.settle();
    github.now = () => new Date();
    await app.receive('issue_comment.created', comment('/edgeship retrain'));
    await app.receive('repository_dispatch', drift(evidence));
    await app.receive('repository_dispatch', drift({ ...evidence, site: 'plant-south' }));
    await app.settle();
    const reasons = () =>
      github
        .repo(REPO)
        .dispatches.map((dispatch) => [
          dispatch.inputs.reason,
          dispatch.inputs.reason === 'drift'
            ? (JSON.parse(dispatch.inputs.context ?? '{}') as { site?: string }).site
            : undefined,
        ]);
    // plant-north cools down despite the retrain; plant-south has a window of its own.
    expect(reasons()).toEqual([
      ['drift', 'plant-north'],
      ['retrain', undefined],
      ['drift', 'plant-south'],
    ]);
    // Seven hours after the first event, plant-north's window has slid past it.
    github.repo(REPO).deployments[0]!.created_at = new Date(Date.now() - hours(7)).toISOString();
    await app.receive('repository_dispatch', drift(evidence));
    await app.settle();
    expect(reasons().at(-1)).toEqual(['drift', 'plant-north']);
    expect(
      github.repo(REPO).deployments.map((deployment) => [deployment.environment, deployment.statuses.at(-1)?.state]),
    ).toEqual([
      ['edgeship-drift/pump-forecaster/plant-north', 'success'],
      ['edgeship-drift/pump-forecaster/plant-south', 'success'],
      ['edgeship-drift/pump-forecaster/plant-north', 'success'],
    ]);
  });

  it('ignores drift of another model and rejects evidence without features', async () => {
    await app.receive('repository_dispatch', drift({ ...evidence, model: 'other-model' }));
    await app.settle();
    // Evidence is checked before the webhook is answered: a bad one fails the delivery itself.
    await expect(app.receive('repository_dispatch', drift({ ...evidence, features: [] }))).rejects.toThrow(
      /edgeship-drift client_payload: features: expected array to have >=1 items, found a list/,
    );
    expect(github.repo(REPO).dispatches).toHaveLength(0);
  });
});
