import { TEST_POLICY } from '../helpers/webhooks.ts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resyncAll } from '../../src/app/resync.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { WorkQueue } from '../../src/app/work-queue.ts';
import { GITOPS_REPO, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { example } from '../helpers/webhooks.ts';

describe('resync', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;

  beforeEach(async () => {
    github = new FakeGitHub();
    world = await new ReleaseWorld(github).seed();
  });
  afterEach(() => github.done());

  const resync = async (uncheckedHeads?: Map<string, string>) => {
    const { probot, queue, rollouts } = world.app;
    const errors: unknown[] = [];
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (fields: { err?: unknown }) => errors.push(fields.err),
    };
    await resyncAll(probot, {
      queue,
      rollouts,
      log,
      policy: TEST_POLICY,
      appId: 1,
      storeFor: () => {
        throw new Error('no baseline expected');
      },
      ...(uncheckedHeads && { uncheckedHeads }),
    });
    await world.app.settle();
    if (errors.length > 0) throw errors[0] as Error;
  };

  it('with replicas, trains a head as lost only when the resync before found it unchecked too: another replica may be taking its push', async () => {
    const unchecked = new Map<string, string>();
    await resync(unchecked);
    expect(world.model.dispatches).toEqual([]);
    // The push is taken meanwhile: nothing to train.
    await world.app.receive('push', world.push());
    await world.app.settle();
    const newer = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(2)\n' });
    await resync(unchecked);
    await resync(unchecked);
    expect(world.model.dispatches.map((dispatch) => dispatch.inputs.sha)).toEqual([world.sha, newer]);
    await resync(unchecked);
    expect(world.model.dispatches).toHaveLength(2);
  });

  it('trains a push whose replica stopped between opening its check and dispatching, once', async () => {
    github.failOnce.push({ method: 'POST', path: /\/dispatches$/ });
    await world.app.receive('push', world.push());
    await expect(world.app.settle()).rejects.toThrow();
    world.app.errors.splice(0);
    const checks = () =>
      world.model.checkRuns
        .filter((check) => check.name === 'edgeship/train' && check.head_sha === world.sha)
        .map((check) => check.status);
    expect([world.model.dispatches, checks()]).toEqual([[], ['queued']]);
    for (let sweep = 0; sweep < 3; sweep += 1) await resync();
    expect(world.model.dispatches.map((dispatch) => [dispatch.inputs.sha, dispatch.inputs.reason])).toEqual([
      [world.sha, 'push'],
    ]);
    expect(checks()).toEqual(['in_progress']);
  });

  it('makes the release PR for a finished run whose workflow_run event was lost', async () => {
    await world.finishRun();
    await resync();
    expect(world.model.pulls.map((pull) => pull.title)).toEqual(['release(pump-forecaster): 1.0.0']);
    await resync();
    expect(world.model.pulls).toHaveLength(1);
  });

  it('makes the deployment and dashboard of a wave whose commit landed when the app died before them, once', async () => {
    await world.app.receive('workflow_run.completed', world.runCompleted(await world.finishRun()));
    await world.app.settle();
    const mergeSha = github.merge(MODEL_REPO, 1);
    // The wave's GitOps commit lands; the deployment after it does not (the process died there).
    github.failOnce.push({ method: 'POST', path: /\/deployments$/ });
    await world.app.receive('pull_request.closed', world.merged(1, mergeSha));
    await expect(world.app.settle()).rejects.toThrow();
    world.app.errors.splice(0);
    expect(github.repo(GITOPS_REPO).commits.size).toBe(2);
    expect([world.model.deployments, world.model.issues]).toEqual([[], []]);
    await resync();
    await resync();
    expect(github.repo(GITOPS_REPO).commits.size).toBe(2);
    expect(
      world.model.deployments.map((deployment) => [deployment.environment, deployment.ref, deployment.description]),
    ).toEqual([['pump-forecaster/canary', mergeSha, 'pump-forecaster, wave canary: 1.0.0 to 1 target: 1 rolling out']]);
    expect(world.model.issues.map((issue) => issue.title)).toEqual(['edgeship fleet: pump-forecaster']);
  });

  it('finishes a merged release whose deploy step never ran, once', async () => {
    await world.app.receive('workflow_run.completed', world.runCompleted(await world.finishRun()));
    await world.app.settle();
    github.merge('acme/pump-model', 1); // the pull_request.closed delivery is lost
    const gitopsCommits = () => github.repo(GITOPS_REPO).commits.size;
    expect(gitopsCommits()).toBe(1);
    await resync();
    expect(gitopsCommits()).toBe(2);
    expect(world.model.deployments.map((deployment) => [deployment.environment, deployment.statuses.length])).toEqual([
      ['pump-forecaster/canary', 0],
    ]); // the canary wave pending; the other two, queued, have none yet
    const callsBefore = github.calls.length;
    await resync();
    expect(gitopsCommits()).toBe(2);
    expect(world.model.deployments.map((deployment) => [deployment.environment, deployment.statuses.length])).toEqual([
      ['pump-forecaster/canary', 0],
    ]);
    expect(github.calls.slice(callsBefore).filter(isWrite)).toEqual([]);
  });

  it('trains a tracked head whose push was answered and lost, once, but never the merge of a release', async () => {
    const code = github.commit('acme/pump-model', 'main', { 'train.py': 'print(2)\n' }); // its push was answered, then the app stopped
    await resync();
    expect(world.model.dispatches.map((dispatch) => [dispatch.inputs.sha, dispatch.inputs.reason])).toEqual([
      [code, 'push'],
    ]);
    await resync();
    expect(world.model.dispatches).toHaveLength(1);

    await world.app.receive('workflow_run.completed', world.runCompleted(await world.finishRun(code), code));
    await world.app.settle();
    const merge = github.merge('acme/pump-model', 1); // neither the merge nor its push reached the app
    await resync();
    expect(world.model.dispatches).toHaveLength(1);
    expect(
      world.model.checkRuns.find((check) => check.name === 'edgeship/train' && check.head_sha === merge),
    ).toMatchObject({ conclusion: 'neutral', output: { title: 'Not trained' } });
    expect(github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')).toContain('version: 1.0.0');
  });

  it('takes a drift event that was recorded but never acted on, once', async () => {
    await resync(); // the seed's own push: trained
    const evidence = { model: 'pump-forecaster', site: 'plant-north', features: [{ name: 'temperature', score: 0.4 }] };
    // The app recorded the event, then stopped before starting the training.
    world.model.deployments.push({
      id: 5000,
      ref: world.sha,
      environment: 'edgeship-drift/pump-forecaster/plant-north',
      payload: { edgeship: 'drift', evidence },
      created_at: new Date().toISOString(),
      statuses: [],
    });
    await resync();
    await resync();
    const drift = world.model.dispatches.filter((dispatch) => dispatch.inputs.reason === 'drift');
    expect(drift.map((dispatch) => JSON.parse(dispatch.inputs.context ?? '{}') as object)).toEqual([
      { ...evidence, summary: 'drift at plant-north: temperature=0.4' },
    ]);
    expect(
      world.model.deployments.find((deployment) => deployment.id === 5000)?.statuses.map((status) => status.state),
    ).toEqual(['success']);
  });

  it('finishes a push, a command and a drift event whose webhooks were answered by an app that then stopped, each once', async () => {
    await resync(); // the seed's push
    // An app that answers webhooks and dies before its queue runs anything.
    const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const stopped = new (class extends WorkQueue {
      override add(): Promise<void> {
        return Promise.resolve();
      }
    })(log);
    const dying = new ReleaseWorld(github, { queue: stopped });
    dying.sha = world.sha;
    const code = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(3)\n' });
    await dying.app.receive('push', dying.pushed('main', world.sha));
    world.model.comments.set(7, [
      {
        id: 8100,
        body: '/edgeship retrain',
        user: { login: 'writer', type: 'User' },
        created_at: new Date().toISOString(),
      },
    ]);
    world.model.roles.set('writer', 'write');
    const comment = example('issue_comment.created', MODEL_REPO);
    Object.assign(comment.comment, {
      id: 8100,
      body: '/edgeship retrain',
      user: { ...comment.comment.user, login: 'writer', type: 'User' },
    });
    Object.assign(comment.issue, { number: 7 });
    await dying.app.receive('issue_comment.created', comment);
    const dispatch = example('repository_dispatch', MODEL_REPO);
    Object.assign(dispatch, {
      action: 'edgeship-drift',
      client_payload: {
        model: 'pump-forecaster',
        site: 'plant-north',
        features: [{ name: 'temperature', score: 0.5 }],
      },
    });
    Object.assign(dispatch.repository, { default_branch: 'main' });
    await dying.app.receive('repository_dispatch', dispatch);
    expect(world.model.dispatches).toHaveLength(1);

    // The restarted app's resync finishes all three, and a second resync adds nothing.
    await resync();
    await resync();
    const runs = world.model.dispatches.slice(1).map((entry) => [entry.inputs.sha, entry.inputs.reason]);
    expect(runs).toEqual([
      [code, 'push'],
      [code, 'drift'],
      [code, 'retrain'],
    ]);
    expect(
      world.model.comments.get(7)?.filter((entry) => entry.body.includes('<!-- edgeship:command:8100 -->')),
    ).toHaveLength(1);
  });

  it('skips an installation GitHub refuses (suspended) and resyncs the others', async () => {
    github.suspended.add(41);
    await world.finishRun();
    const warnings: unknown[] = [];
    const { probot, queue, rollouts } = world.app;
    const log = {
      debug: () => undefined,
      info: () => undefined,
      warn: (fields: { installation?: number }) => warnings.push(fields.installation),
      error: () => undefined,
    };
    await resyncAll(probot, {
      queue,
      rollouts,
      log,
      policy: TEST_POLICY,
      appId: 1,
      storeFor: () => {
        throw new Error('no baseline expected');
      },
    });
    await world.app.settle();
    expect(warnings).toEqual([41]);
    expect(world.model.pulls.map((pull) => pull.title)).toEqual(['release(pump-forecaster): 1.0.0']);
  });

  it('changes nothing in repos without a config', async () => {
    github.commit('acme/website', 'main', { 'index.html': '<h1>hi</h1>' });
    await resync();
    expect(github.calls.filter(isWrite).filter((call) => call.path.includes('acme/website'))).toEqual([]);
    expect(github.calls.some((call) => call.path.startsWith('/repos/acme/website/'))).toBe(true);
  });
});
