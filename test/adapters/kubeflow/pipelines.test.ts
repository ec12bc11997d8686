import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeflowPipelines } from '../../../src/adapters/kubeflow/pipelines.ts';
import { kubeflowTrainingSchema } from '../../../src/core/training-config.ts';
import { kubeflowRunName } from '../../../src/core/training-run.ts';
import { PIPELINE_INPUTS, startKfp } from '../../helpers/kfp-server.ts';
import { freePort } from '../../helpers/registry.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const tempDir = useTempDirs();
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const run = (sha: string, branch = 'main') => ({
  key: `pump-${sha.slice(0, 12)}-0a1b2c3d`,
  model: 'pump',
  repo: 'acme/pump',
  sha,
  branch,
  reason: 'drift',
  context: 'PSI 0.41 on vibration at substation-east',
  repoUrl: 'https://github.com/acme/pump.git',
});

describe('KubeflowPipelines', () => {
  let kfp: Awaited<ReturnType<typeof startKfp>>;
  let pipelines: KubeflowPipelines;
  const spec = (overrides: object = {}) =>
    kubeflowTrainingSchema.parse({
      endpoint: kfp.endpoint,
      pipelineId: 'train-pump',
      experimentId: 'exp-1',
      parameters: { epochs: 30 },
      ...overrides,
    });
  beforeEach(async () => {
    kfp = await startKfp({
      token: 'kfp-token',
      pipelines: { 'train-pump': ['v1', 'v2'] },
      inputs: [...PIPELINE_INPUTS, 'epochs'],
    });
    pipelines = new KubeflowPipelines(spec(), { token: 'kfp-token' });
  });
  afterEach(async () => kfp.stop());

  it('starts one run per run key with the commit and key as parameters, and finds it again', async () => {
    const started = await pipelines.start(run(A));
    const created = kfp.byName(kubeflowRunName(run(A).key));
    expect(started).toEqual({
      created: true,
      name: kubeflowRunName(run(A).key),
      url: `${kfp.endpoint}/#/runs/details/${created?.run_id ?? ''}`,
    });
    expect(created).toMatchObject({
      experiment_id: 'exp-1',
      pipeline_version_reference: { pipeline_id: 'train-pump', pipeline_version_id: 'v2' },
      runtime_config: {
        parameters: {
          epochs: 30,
          sha: A,
          run_key: run(A).key,
          repo_url: 'https://github.com/acme/pump.git',
          branch: 'main',
          reason: 'drift',
          context: 'PSI 0.41 on vibration at substation-east',
        },
      },
    });
    expect(await pipelines.start(run(A))).toMatchObject({ created: false });
    expect(kfp.runs.size).toBe(1);
    expect(kfp.requests.every((request) => request.authorization === 'Bearer kfp-token')).toBe(true);
  });

  it("follows the run to success, failure with the pipeline's message, and deletion", async () => {
    await pipelines.start(run(A));
    const name = kubeflowRunName(run(A).key);
    expect(await pipelines.state(run(A).key)).toMatchObject({ phase: 'running' });
    kfp.setState(name, 'RUNNING');
    expect(await pipelines.state(run(A).key)).toMatchObject({ phase: 'running' });
    kfp.setState(name, 'SUCCEEDED');
    expect(await pipelines.state(run(A).key)).toMatchObject({
      phase: 'succeeded',
      url: expect.stringContaining('/#/runs/details/') as string,
    });
    await pipelines.start(run(B));
    kfp.setState(kubeflowRunName(run(B).key), 'FAILED', 'train-op: exit status 1: CUDA out of memory');
    expect(await pipelines.state(run(B).key)).toMatchObject({
      phase: 'failed',
      reason: 'the pipeline run failed: train: train-op: exit status 1: CUDA out of memory',
    });
    // The run's own error stays empty: the reason is in its task details, read from the run itself.
    expect(kfp.byName(kubeflowRunName(run(B).key))?.error).toBeUndefined();
    kfp.runs.clear();
    expect(await pipelines.state(run(A).key)).toEqual({ phase: 'missing' });
  });

  it('terminates the unfinished runs of the same branch, and no others', async () => {
    await pipelines.start(run(A));
    await pipelines.start(run('c'.repeat(40)));
    kfp.setState(kubeflowRunName(run('c'.repeat(40)).key), 'SUCCEEDED');
    await pipelines.start(run('d'.repeat(40), 'feature/x'));
    await pipelines.start(run(B));
    expect(await pipelines.cancelSuperseded('pump', 'main', run(B).key)).toEqual([run(A).key]);
    expect(kfp.byName(kubeflowRunName(run(A).key))?.state).toBe('CANCELING');
    expect(kfp.byName(kubeflowRunName(run('d'.repeat(40)).key))?.state).toBe('PENDING');
    expect(kfp.requests.filter((request) => request.path.endsWith(':terminate'))).toHaveLength(1);
  });

  it('follows a cancelled run through CANCELING to however it ends', async () => {
    await pipelines.start(run(A));
    const name = kubeflowRunName(run(A).key);
    kfp.setState(name, 'CANCELING');
    expect(await pipelines.state(run(A).key)).toMatchObject({ phase: 'running' });
    kfp.setState(name, 'SUCCEEDED');
    expect(await pipelines.state(run(A).key)).toMatchObject({ phase: 'succeeded' });
  });

  it("cancels only the same model's runs, also when another model's name starts with it", async () => {
    const other = { ...run(A), key: `pump-forecaster-${A.slice(0, 12)}-1a2b3c4d`, model: 'pump-forecaster' };
    await pipelines.start(other);
    await pipelines.start(run(A));
    await pipelines.start(run(B));
    // More runs than one page holds, all finished: the unfinished one is found on a later page.
    for (let index = 0; index < 150; index += 1) {
      const sha = index.toString(16).padStart(40, 'e');
      await pipelines.start(run(sha));
      kfp.setState(kubeflowRunName(run(sha).key), 'SUCCEEDED');
    }
    expect(await pipelines.cancelSuperseded('pump', 'main', run(B).key)).toEqual([run(A).key]);
    expect(kfp.byName(kubeflowRunName(other.key))?.state).toBe('PENDING');
  });

  it('starts runs in a multi-user namespace through an experiment there, with only v2beta1 fields', async () => {
    const strict = await startKfp({
      token: 'kfp-token',
      pipelines: { 'train-pump': ['v1'] },
      inputs: [...PIPELINE_INPUTS, 'epochs'],
      multiUser: true,
    });
    try {
      const namespaced = new KubeflowPipelines(
        kubeflowTrainingSchema.parse({
          endpoint: strict.endpoint,
          pipelineId: 'train-pump',
          namespace: 'team-pumps',
          parameters: { epochs: 30 },
        }),
        { token: 'kfp-token' },
      );
      await namespaced.start(run(A));
      await namespaced.start(run(B));
      const [experiment, ...more] = [...strict.experiments.values()];
      expect(experiment).toMatchObject({ display_name: 'edgeship', namespace: 'team-pumps' });
      expect(more).toEqual([]);
      expect([...strict.runs.values()].map((created) => created.experiment_id)).toEqual([
        experiment?.experiment_id,
        experiment?.experiment_id,
      ]);
      const posted = strict.requests.filter(
        (request) => request.method === 'POST' && request.path === '/apis/v2beta1/runs',
      );
      expect(posted.every((request) => !('namespace' in (request.body ?? {})))).toBe(true);
      // What KFP ≥ 2.14 answers a field a run does not have, and a parameter the pipeline does not declare.
      const refused = await fetch(`${strict.endpoint}/apis/v2beta1/runs`, {
        method: 'POST',
        headers: { authorization: 'Bearer kfp-token' },
        body: JSON.stringify({
          display_name: 'x',
          namespace: 'team-pumps',
          pipeline_version_reference: { pipeline_id: 'train-pump' },
        }),
      });
      expect(refused.status).toBe(400);
      await expect(
        new KubeflowPipelines(
          kubeflowTrainingSchema.parse({
            endpoint: strict.endpoint,
            pipelineId: 'train-pump',
            namespace: 'team-pumps',
            parameters: { lr: 0.1 },
          }),
          { token: 'kfp-token' },
        ).start(run('c'.repeat(40))),
      ).rejects.toThrow('parameter(s) provided are not used in the pipeline: [lr]');
    } finally {
      await strict.stop();
    }
  });

  it('names an unknown pipeline, a refused token and an unreachable API', async () => {
    await expect(
      new KubeflowPipelines(spec({ pipelineVersionId: 'v9' }), { token: 'kfp-token' }).start(run(A)),
    ).rejects.toThrow(
      'Kubeflow Pipelines POST runs: 404 Failed to create a run: ResourceNotFoundError: PipelineVersion v9 not found (check train.kubeflow.pipelineId and pipelineVersionId)',
    );
    await expect(new KubeflowPipelines(spec(), { token: 'wrong' }).state(run(A).key)).rejects.toThrow(
      /^Kubeflow Pipelines GET runs: 401 Unauthenticated: .* \(set KFP_TOKEN or give the app's service account access to the pipeline's namespace\)$/,
    );
    const down = `http://127.0.0.1:${await freePort()}`;
    await expect(
      new KubeflowPipelines(kubeflowTrainingSchema.parse({ endpoint: down, pipelineId: 'p' }), { token: 't' }).state(
        run(A).key,
      ),
    ).rejects.toThrow(`Kubeflow Pipelines at ${down} is unreachable`);
  });

  it('reads the service account token from its file for each call', async () => {
    const directory = await tempDir();
    const tokenPath = join(directory, 'token');
    await writeFile(tokenPath, 'kfp-token\n');
    const inCluster = new KubeflowPipelines(spec(), { tokenPath });
    await inCluster.start(run(A));
    await writeFile(tokenPath, 'rotated\n');
    await expect(inCluster.state(run(A).key)).rejects.toThrow(/401/);
    expect(kfp.requests.at(-1)?.authorization).toBe('Bearer rotated');
  });
});
