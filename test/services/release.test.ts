import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxInspector } from '../../src/adapters/onnx/inspector.ts';
import { ArtifactError, ModelValidationError } from '../../src/core/errors.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { releaseModel, type ReleaseDeps } from '../../src/services/release.ts';
import { copyExampleOutputs, testConfig } from '../helpers/fixtures.ts';
import { fakeProfiler, fakeTraining, MemoryGitOps, MemoryStore, silentProgress } from '../helpers/fakes.ts';
import { useTempDirs } from '../helpers/temp.ts';

const FAST = { 'jetson-xavier-nx': 4, 'jetson-orin-nano': 4, 'cloud-cpu': 3 };
const config = () => {
  const base = testConfig();
  return {
    ...base,
    metrics: { primary: 'anomaly_f1', direction: 'maximize' as const },
    gates: { ...base.gates, thresholds: { anomaly_f1: { min: 0.3 } } },
  };
};

describe('releaseModel', () => {
  const tempDir = useTempDirs();

  async function setup(
    options: { p95?: Record<string, number>; storeError?: Error; edit?: (outputs: string) => Promise<void> } = {},
  ) {
    const root = await tempDir();
    const outputs = await copyExampleOutputs(root);
    await options.edit?.(outputs);
    const store = new MemoryStore(join(root, 'store'), options.storeError);
    const gitops = new MemoryGitOps();
    const deps: ReleaseDeps = {
      inspector: new OnnxInspector(),
      profiler: fakeProfiler(options.p95 ?? FAST),
      training: fakeTraining(() => outputs),
      store,
      storeFor: () => store,
      gitops,
      progress: silentProgress,
    };
    const run = () =>
      releaseModel(deps, {
        directory: join(root, 'repo'),
        config: config(),
        provenance: { commit: 'abc123', branch: 'main' },
      });
    return { run, store, gitops, outputs };
  }

  it('publishes and commits the first release as 1.0.0; the same model again is nothing to release, another one a patch against it', async () => {
    const { run, store, gitops, outputs } = await setup();
    const first = await run();
    expect(first.report).toMatchObject({ passed: true, version: { version: '1.0.0', bump: 'initial' } });
    expect(store.pushes.map((push) => [push.tag, push.files.map((file) => file.name)])).toEqual([
      ['1.0.0', ['model.onnx', 'metrics.json', 'contract.json', 'golden.json', 'reference-stats.json']],
    ]);
    const record = parseReleaseRecord(gitops.files.get('models/demo/release.yaml')!, 'release.yaml');
    expect(record).toMatchObject({
      version: '1.0.0',
      artifact: first.report.artifact,
      targets: { near: { placement: 'edge' }, far: { placement: 'edge' }, cloud: { placement: 'cloud' } },
    });

    // Retraining reproduced the deployed model byte for byte: no version, no push, no commit.
    const same = await run();
    expect(same.report.version).toEqual({
      version: '1.0.0',
      bump: 'none',
      reason: 'the model is the deployed 1.0.0 (same sha256): nothing to release',
    });
    expect(same.markdown).toContain('➖ the model is the deployed 1.0.0 (same sha256): nothing to release');
    expect(same.commit).toBeUndefined();
    expect(store.pushes).toHaveLength(1);
    expect(gitops.commits).toHaveLength(1);

    // Other bytes (here a doc string appended to the ModelProto), the same contract and metrics: a patch.
    const model = join(outputs, 'model.onnx');
    await writeFile(model, Buffer.concat([await readFile(model), Buffer.from([0x32, 0x01, 0x41])]));
    const second = await run();
    const f1 = first.report.metrics.find((metric) => metric.name === 'anomaly_f1')?.value;
    expect(second.report.baseline).toEqual({
      version: '1.0.0',
      ...first.report.artifact,
      placements: { near: 'edge', far: 'edge', cloud: 'cloud' },
      history: [{ version: '1.0.0', value: f1 }],
    });
    // The second release's report charts latency against the budget and the primary metric's trend.
    expect(second.markdown).toContain('title "p95 as a share of each target\'s latency budget"');
    expect(second.markdown).toContain(`x-axis ["1.0.0", "1.0.1 (this)"]`);
    expect(second.markdown).toContain(`line [${Number(f1?.toPrecision(4))}, ${Number(f1?.toPrecision(4))}]`);
    expect(second.report.version).toMatchObject({ version: '1.0.1', bump: 'patch' });
    expect(second.report.contractDiff).toEqual({ breaking: false, changes: [] });
    expect(second.report.metrics.find((metric) => metric.name === 'anomaly_f1')?.delta).toBe(0);
    expect(gitops.commits).toHaveLength(2);
  });

  it('records offloading with the cloud target in the GitOps repo', async () => {
    const { run, gitops } = await setup({ p95: { ...FAST, 'jetson-xavier-nx': 15 } });
    await run();
    const record = parseReleaseRecord(gitops.files.get('models/demo/release.yaml')!, 'release.yaml');
    expect(record.targets.near).toMatchObject({ placement: 'offload', offloadTo: 'cloud' });
  });

  it('publishes nothing and commits nothing when a gate fails', async () => {
    const { run, store, gitops } = await setup({ p95: { ...FAST, 'jetson-orin-nano': 500 } });
    const outcome = await run();
    expect(outcome.report.passed).toBe(false);
    expect(outcome.report.gates.find((gate) => !gate.passed)?.id).toBe('placement');
    expect(outcome.commit).toBeUndefined();
    expect(outcome.markdown).toMatch(/❌ failed: [^·]*placement/i);
    expect(store.pushes).toHaveLength(0);
    expect(gitops.commits).toHaveLength(0);
  });

  it('fails the golden gate when the ONNX outputs differ from the framework', async () => {
    const { run, store } = await setup({
      edit: async (outputs) => {
        const path = join(outputs, 'golden.json');
        const golden = JSON.parse(await readFile(path, 'utf8')) as {
          samples: { outputs: { forecast: { data: number[] } } }[];
        };
        golden.samples[2]!.outputs.forecast.data[1]! += 0.5;
        await writeFile(path, JSON.stringify(golden));
      },
    });
    const outcome = await run();
    expect(outcome.report.gates.find((gate) => gate.id === 'golden')).toMatchObject({
      passed: false,
      reason: expect.stringMatching(/^1 of 24 values differ; worst: sample 2 forecast\[1\]/) as string,
    });
    expect(store.pushes).toHaveLength(0);
  });

  it('stops on metrics.json with NaN, naming the field, before anything is written', async () => {
    const { run, store, gitops } = await setup({
      edit: (outputs) => writeFile(join(outputs, 'metrics.json'), '{"anomaly_f1": NaN, "val_mae": 0.1}'),
    });
    const error = await run().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ModelValidationError);
    expect((error as Error).message).toMatch(/metrics\.json: expected finite numbers, but "anomaly_f1" is NaN/);
    expect(store.pushes).toHaveLength(0);
    expect(gitops.commits).toHaveLength(0);
  });

  it('commits nothing when the registry cannot be reached', async () => {
    const { run, gitops } = await setup({
      storeError: new ArtifactError('cannot reach the registry 127.0.0.1:9 (ECONNREFUSED)'),
    });
    await expect(run()).rejects.toThrow(/cannot reach the registry/);
    expect(gitops.commits).toHaveLength(0);
  });
});
