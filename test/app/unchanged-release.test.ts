import { describe, expect, it } from 'vitest';
import { deployedWorld, MODEL_REPO } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';

describe('a retraining that reproduces the deployed model', () => {
  const tempDir = useTempDirs();

  it('opens no release PR and says why: same sha256 as the deployed release', async () => {
    // The deployed 1.0.0 is the example model itself, in a registry the app reads the baseline from.
    const { github, world, report } = await deployedWorld(await tempDir());

    const runId = await world.finishRun();
    await world.app.receive('workflow_run.completed', world.runCompleted(runId, world.sha, 'success', MODEL_REPO));
    await world.app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.pulls).toEqual([]);
    expect([...model.branches.keys()].filter((branch) => branch.startsWith('edgeship/release/'))).toEqual([]);
    expect(model.checkRuns).toMatchObject([
      {
        name: 'edgeship/train',
        conclusion: 'neutral',
        output: { title: 'Nothing to release: the model is the deployed 1.0.0' },
      },
    ]);
    expect(model.checkRuns[0]?.output?.summary).toContain(report.candidate.sha256);
    github.done();
  });
});
