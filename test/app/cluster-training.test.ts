import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesJobs } from '../../src/adapters/k8s/training-jobs.ts';
import { KubeflowPipelines } from '../../src/adapters/kubeflow/pipelines.ts';
import { RegistryStore } from '../../src/adapters/oci/registry-store.ts';
import { resyncAll } from '../../src/app/resync.ts';
import { ActiveTrainings } from '../../src/app/active-trainings.ts';
import type { EdgeshipConfig } from '../../src/core/config.ts';
import { jobName, kubeflowRunName } from '../../src/core/training-run.ts';
import { publishReport } from '../../src/services/publish.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { startJobsApi } from '../helpers/k8s-jobs-server.ts';
import { PIPELINE_INPUTS, startKfp } from '../helpers/kfp-server.ts';
import { testPolicy } from '../helpers/webhooks.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { evaluationReport, exampleConfigText, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { example } from '../helpers/webhooks.ts';

describe('training on a cluster through the app', () => {
  let github: FakeGitHub;
  let registry: TestRegistry;
  let api: Awaited<ReturnType<typeof startJobsApi>>;
  let world: ReleaseWorld;
  let sha: string;

  /** The example config, trained by a Job in namespace ml, its artifacts in the loopback registry. */
  const kubernetesConfig = async () =>
    (await exampleConfigText())
      .replace(
        '  backend: github-actions\n',
        '  backend: kubernetes\n  kubernetes:\n    namespace: ml\n    image: ghcr.io/acme/pump-train:1\n    resources: { cpu: 4, memory: 8Gi, gpu: 1 }\n    secrets: [edgeship-train]\n',
      )
      .replace('repository: ghcr.io/edgeship-demo/models', `repository: ${registry.address}/models`);

  const jobsFor = (config: EdgeshipConfig) =>
    config.train.kubernetes
      ? new KubernetesJobs(api.kubeconfig, config.train.kubernetes, config.train.timeoutMinutes)
      : undefined;

  beforeEach(async () => {
    github = new FakeGitHub();
    nock.enableNetConnect('127.0.0.1');
    registry = await startRegistry();
    api = await startJobsApi();
    world = new ReleaseWorld(github, { trainingFor: jobsFor, policy: testPolicy({ registries: [registry.address] }) });
    await world.seed();
    sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': await kubernetesConfig() });
  });
  afterEach(async () => {
    github.done();
    await api.stop();
    await registry.stop();
  });

  const trainCheck = (headSha = sha) =>
    world.model.checkRuns.find((check) => check.name === 'edgeship/train' && check.head_sha === headSha);
  /** What `edgeship cloud-run` leaves in the registry: the evaluation report under report-<key>. */
  const storeReport = async (key: string) => {
    const directory = await mkdtemp(join(tmpdir(), 'edgeship-job-'));
    try {
      await publishReport(
        new RegistryStore(`${registry.address}/models`),
        { ...(await evaluationReport()), provenance: { trainedAt: '2026-11-26T07:00:00.000Z', commit: sha } },
        key,
        directory,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  };

  it('push → one Job per commit (a redelivery finds it) → Job completes → the report becomes the release PR', async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    expect(key).toMatch(/^pump-forecaster-[0-9a-f]{12}-[0-9a-f]{8}$/);
    expect(api.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
    expect(trainCheck()).toMatchObject({ status: 'in_progress', output: { title: 'Training pump-forecaster' } });
    expect(trainCheck()?.output.summary).toContain(
      `Started Job \`${jobName(key)}\` in namespace \`ml\`; logs: \`kubectl logs -n ml job/${jobName(key)}\``,
    );
    expect(world.model.dispatches).toHaveLength(0);
    const job = api.jobs.get(`ml/${jobName(key)}`);
    expect(job?.spec?.template.spec?.containers[0]?.env).toContainEqual({
      name: 'EDGESHIP_REPO_URL',
      value: `https://github.com/${MODEL_REPO}.git`,
    });

    expect(await world.app.follow()).toBe(1);
    expect(trainCheck()?.status).toBe('in_progress');
    // While the Job runs, a look asks the cluster only: the config at the commit was read once.
    const calls = github.calls.filter((call) => !call.path.includes('access_tokens')).length;
    await world.app.follow();
    expect(github.calls.filter((call) => !call.path.includes('access_tokens')).length).toBe(calls);

    await storeReport(key);
    api.complete('ml', jobName(key));
    await world.app.follow();
    expect(world.model.pulls).toMatchObject([{ number: 1, title: 'release(pump-forecaster): 1.0.0', state: 'open' }]);
    expect(world.model.pulls[0]?.body).toContain('## pump-forecaster 1.0.0');
    expect(trainCheck()).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      output: { title: 'Release PR #1' },
    });
    expect(world.app.trainings.list()).toHaveLength(0);
  });

  it("fails edgeship/train with the reason and the log's last lines when the Job fails", async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    api.fail('ml', jobName(key), 'BackoffLimitExceeded', {
      terminated: { exitCode: 137, reason: 'OOMKilled' },
      log: 'epoch 3/30\nKilled\n',
    });
    await world.app.follow();
    expect(trainCheck()).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: 'Training failed' },
    });
    expect(trainCheck()?.output.summary).toBe(
      `Job \`${jobName(key)}\` in namespace \`ml\`; logs: \`kubectl logs -n ml job/${jobName(key)}\`: the training container ran out of memory (OOMKilled, exit 137); raise train.kubernetes.resources.memory.`,
    );
    expect(trainCheck()?.output.text).toContain('```text\nepoch 3/30\nKilled\n```');
    expect(world.model.pulls).toHaveLength(0);
    expect(world.app.trainings.list()).toHaveLength(0);
  });

  it('says once in the check run that a Job is stuck, and carries on when it starts', async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    api.pending('ml', jobName(key), {
      waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "ghcr.io/acme/pump-train:1"' },
    });
    const updates = () =>
      github.calls.filter((call) => call.method === 'PATCH' && call.path.includes('/check-runs/')).length;
    const before = updates();
    await world.app.follow();
    await world.app.follow();
    expect(updates()).toBe(before + 1);
    expect(trainCheck()).toMatchObject({
      status: 'in_progress',
      output: { title: 'Training pump-forecaster: waiting' },
    });
    expect(trainCheck()?.output.summary).toContain(
      'has not started: the training container cannot start: ImagePullBackOff (Back-off pulling image "ghcr.io/acme/pump-train:1"). It keeps trying until train.timeoutMinutes (60) runs out.',
    );
    expect(world.app.trainings.list()).toHaveLength(1);
    api.pending('ml', jobName(key), { waiting: { reason: 'ContainerCreating', message: '' } });
    await world.app.follow();
    expect(trainCheck()).toMatchObject({ status: 'in_progress', output: { title: 'Training pump-forecaster' } });
    expect(trainCheck()?.output.summary).toBe(
      `Job \`${jobName(key)}\` in namespace \`ml\`; logs: \`kubectl logs -n ml job/${jobName(key)}\` is running.`,
    );
    await storeReport(key);
    api.complete('ml', jobName(key));
    await world.app.follow();
    expect(trainCheck()).toMatchObject({ conclusion: 'success', output: { title: 'Release PR #1' } });
  });

  it('cancels the Job of an older commit when a newer one is pushed, and marks it superseded', async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const older = trainCheck()?.external_id ?? '';
    const newer = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(2)\n' });
    await world.app.receive('push', world.push(newer));
    await world.app.settle();
    expect([...api.jobs.keys()]).toEqual([`ml/${jobName(trainCheck(newer)?.external_id ?? '')}`]);
    await world.app.follow();
    expect(trainCheck()).toMatchObject({ status: 'completed', conclusion: 'neutral', output: { title: 'Superseded' } });
    expect(world.app.trainings.list().map((entry) => entry.run.key)).toEqual([trainCheck(newer)?.external_id]);
    expect(older).not.toBe(trainCheck(newer)?.external_id);
  });

  it('says so when the Job succeeded without storing a report, and asks again while the registry is down', async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    api.complete('ml', jobName(key));
    await registry.stop();
    await expect(world.app.follow()).rejects.toThrow(/cannot reach the registry/);
    world.app.errors.length = 0;
    expect(trainCheck()?.status).toBe('in_progress');
    expect(world.app.trainings.list()).toHaveLength(1);
    registry = await startRegistry();
    sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': await kubernetesConfig() });
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const moved = trainCheck()?.external_id ?? '';
    api.complete('ml', jobName(moved));
    await world.app.follow();
    expect(trainCheck()).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: 'No evaluation report' },
    });
    expect(trainCheck()?.output.summary).toContain(
      `its report could not be read from \`${registry.address}/models/pump-forecaster:report-${moved}\``,
    );
    expect(key).not.toBe(moved);
  });

  it('fails the check with what to fix when the cluster refuses the Job or the app cannot reach it', async () => {
    const denied = await startJobsApi({ forbidden: true });
    try {
      const refused = new ReleaseWorld(github, {
        trainingFor: (config) =>
          config.train.kubernetes ? new KubernetesJobs(denied.kubeconfig, config.train.kubernetes, 60) : undefined,
      });
      await refused.app.receive('push', world.push(sha));
      await refused.app.settle();
      expect(trainCheck()).toMatchObject({
        status: 'completed',
        conclusion: 'failure',
        output: { title: 'Training could not start' },
      });
      expect(trainCheck()?.output.summary).toMatch(
        /^the app may not list Jobs in namespace "ml" \(RBAC\): jobs\.batch is forbidden: User "system:serviceaccount:edgeship:edgeship" cannot list resource "jobs"/,
      );
    } finally {
      await denied.stop();
    }
    const other = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(4)\n' });
    const blind = new ReleaseWorld(github, {});
    await blind.app.receive('push', world.push(other));
    await blind.app.settle();
    expect(trainCheck(other)?.output.summary).toBe(
      'train.backend is kubernetes, but this app has no access to it. Give the app access to the training cluster: EDGESHIP_TRAINING_KUBECONFIG (and EDGESHIP_TRAINING_CONTEXT) or EDGESHIP_TRAINING_IN_CLUSTER=true.',
    );
  });

  it('follows again after a restart: the resync finds the run from the check run in progress', async () => {
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    const restarted = new ReleaseWorld(github, {
      trainingFor: jobsFor,
      policy: testPolicy({ registries: [registry.address] }),
    });
    const trainings = restarted.app.trainings;
    expect(trainings.list()).toHaveLength(0);
    const log = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    await resyncAll(restarted.app.probot, {
      queue: restarted.app.queue,
      rollouts: restarted.app.rollouts,
      trainings,
      log,
      policy: testPolicy({ registries: [registry.address] }),
      appId: 1,
      storeFor: () => {
        throw new Error('no baseline expected');
      },
    });
    await restarted.app.settle();
    expect(trainings.list().map((entry) => entry.run)).toEqual([{ sha, branch: 'main', key }]);
    expect(trainings).toBeInstanceOf(ActiveTrainings);
    await storeReport(key);
    api.complete('ml', jobName(key));
    await restarted.app.follow();
    expect(world.model.pulls).toHaveLength(1);
  });

  it('retrains on a /edgeship retrain comment with a Job of its own that carries the request', async () => {
    github.repo(MODEL_REPO).roles.set('writer', 'write');
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const pushed = trainCheck()?.external_id ?? '';
    const payload = example('issue_comment.created', MODEL_REPO);
    Object.assign(payload.comment, {
      id: 9001,
      body: '/edgeship retrain',
      user: { ...payload.comment.user, login: 'writer', type: 'User' },
    });
    Object.assign(payload.repository, { default_branch: 'main' });
    await world.app.receive('issue_comment.created', payload);
    await world.app.receive('issue_comment.created', payload);
    await world.app.settle();
    const key = trainCheck()?.external_id ?? '';
    // The retrain supersedes the push's Job on the same branch; its check run now follows the retrain.
    expect([...api.jobs.keys()]).toEqual([`ml/${jobName(key)}`]);
    expect(key).not.toBe(pushed);
    const env = api.jobs.get(`ml/${jobName(key)}`)?.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env).toContainEqual({ name: 'EDGESHIP_REASON', value: 'retrain' });
    expect(env).toContainEqual({
      name: 'EDGESHIP_CONTEXT',
      value: `retrain requested by @writer in #${payload.issue.number}`,
    });
    expect(world.model.comments.get(payload.issue.number)?.map((comment) => comment.body)).toEqual([
      `Training main at ${sha.slice(0, 7)} again, as @writer asked; the release PR follows when it finishes.\n\n<!-- edgeship:command:${payload.comment.id} -->`,
    ]);
    await world.app.follow();
    expect(world.app.trainings.list().map((entry) => entry.run.key)).toEqual([key]);
    expect(trainCheck()).toMatchObject({ status: 'in_progress', external_id: key });
  });

  it("fails edgeship/train with Kubeflow's message when the run fails, and says so when it is deleted", async () => {
    const kfp = await startKfp({ token: 'kfp-token', pipelines: { 'train-pump': ['v1'] }, inputs: PIPELINE_INPUTS });
    try {
      const text = (await exampleConfigText())
        .replace(
          '  backend: github-actions\n',
          `  backend: kubeflow\n  kubeflow: { endpoint: "${kfp.endpoint}", pipelineId: train-pump }\n`,
        )
        .replace('repository: ghcr.io/edgeship-demo/models', `repository: ${registry.address}/models`);
      const kubeflow = new ReleaseWorld(github, {
        policy: testPolicy({ registries: [registry.address], kubeflow: [kfp.endpoint] }),
        trainingFor: (config) =>
          config.train.kubeflow ? new KubeflowPipelines(config.train.kubeflow, { token: 'kfp-token' }) : undefined,
      });
      sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': text });
      await kubeflow.app.receive('push', world.push(sha));
      await kubeflow.app.settle();
      kfp.setState(
        kubeflowRunName(trainCheck()?.external_id ?? ''),
        'FAILED',
        'train-op: exit status 1: CUDA out of memory',
      );
      await kubeflow.app.follow();
      expect(trainCheck()).toMatchObject({ conclusion: 'failure', output: { title: 'Training failed' } });
      expect(trainCheck()?.output.summary).toContain(
        'the pipeline run failed: train: train-op: exit status 1: CUDA out of memory.',
      );

      const retrained = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(5)\n' });
      await kubeflow.app.receive('push', world.push(retrained));
      await kubeflow.app.settle();
      kfp.runs.clear();
      await kubeflow.app.follow();
      expect(trainCheck(retrained)).toMatchObject({ conclusion: 'failure', output: { title: 'Training failed' } });
      expect(trainCheck(retrained)?.output.summary).toContain('it was deleted before the app saw it finish');
      expect(kubeflow.app.trainings.list()).toHaveLength(0);
    } finally {
      await kfp.stop();
    }
  });

  it('trains on Kubeflow Pipelines the same way', async () => {
    const kfp = await startKfp({ token: 'kfp-token', pipelines: { 'train-pump': ['v1'] }, inputs: PIPELINE_INPUTS });
    try {
      const text = (await exampleConfigText())
        .replace(
          '  backend: github-actions\n',
          `  backend: kubeflow\n  kubeflow: { endpoint: "${kfp.endpoint}", pipelineId: train-pump, experimentId: pumps }\n`,
        )
        .replace('repository: ghcr.io/edgeship-demo/models', `repository: ${registry.address}/models`);
      sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': text });
      const kubeflow = new ReleaseWorld(github, {
        policy: testPolicy({ registries: [registry.address], kubeflow: [kfp.endpoint] }),
        trainingFor: (config) =>
          config.train.kubeflow ? new KubeflowPipelines(config.train.kubeflow, { token: 'kfp-token' }) : undefined,
      });
      await kubeflow.app.receive('push', world.push(sha));
      await kubeflow.app.receive('push', world.push(sha));
      await kubeflow.app.settle();
      const key = trainCheck()?.external_id ?? '';
      expect(kfp.runs.size).toBe(1);
      const run = kfp.byName(kubeflowRunName(key));
      expect(run?.runtime_config.parameters).toMatchObject({ sha, run_key: key, branch: 'main', reason: 'push' });
      expect(trainCheck()).toMatchObject({
        status: 'in_progress',
        details_url: `${kfp.endpoint}/#/runs/details/${run?.run_id ?? ''}`,
      });
      kfp.setState(kubeflowRunName(key), 'RUNNING');
      await kubeflow.app.follow();
      expect(trainCheck()?.status).toBe('in_progress');
      await storeReport(key);
      kfp.setState(kubeflowRunName(key), 'SUCCEEDED');
      await kubeflow.app.follow();
      expect(world.model.pulls).toMatchObject([{ title: 'release(pump-forecaster): 1.0.0' }]);
      expect(trainCheck()).toMatchObject({ conclusion: 'success', output: { title: 'Release PR #1' } });
    } finally {
      await kfp.stop();
    }
  });
});
