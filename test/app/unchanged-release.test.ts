import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { MemoryStore } from '../helpers/fakes.ts';
import { evaluationReport, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';

describe('a retraining that reproduces the deployed model', () => {
  const tempDir = useTempDirs();

  it('opens no release PR and says why: same sha256 as the deployed release', async () => {
    // The deployed 1.0.0 is the example model itself, in a registry the app reads the baseline from.
    const scratch = await tempDir();
    const store = new MemoryStore(join(scratch, 'store'));
    const report = await evaluationReport();
    const outputs = inject('exampleOutputs');
    await writeFile(join(scratch, 'contract.json'), JSON.stringify(report.candidate.contract));
    const files = [join(outputs, 'model.onnx'), join(outputs, 'metrics.json'), join(scratch, 'contract.json')].map((path) => ({ name: path.split('/').pop() ?? '', mediaType: 'application/octet-stream', path }));
    const artifact = await store.push({ name: 'pump-forecaster', tag: '1.0.0', files, config: {} });
    const github = new FakeGitHub();
    const world = await new ReleaseWorld(github, { storeFor: () => store }).seed();
    await world.deployed({ ...report, artifact });

    const runId = await world.finishRun();
    await world.app.receive('workflow_run.completed', world.runCompleted(runId, world.sha, 'success', MODEL_REPO));
    await world.app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.pulls).toEqual([]);
    expect([...model.branches.keys()].filter((branch) => branch.startsWith('edgeship/release/'))).toEqual([]);
    expect(model.checkRuns).toMatchObject([{ name: 'edgeship/train', conclusion: 'neutral', output: { title: 'Nothing to release: the model is the deployed 1.0.0' } }]);
    expect(model.checkRuns[0]?.output?.summary).toContain(report.candidate.sha256);
    github.done();
  });
});
