import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { GITHUB_LIMITS } from '../../src/core/github-limits.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { FLEET_MODEL_REPO, FleetRelease } from '../helpers/fleet-release.ts';

/** Every text the app left on the model repo, with the limit GitHub holds it to. */
function textsOf(github: FakeGitHub): { where: string; text: string; limit: number }[] {
  const repo = github.repo(FLEET_MODEL_REPO);
  return [
    ...repo.pulls.flatMap((pull) => [{ where: `PR #${pull.number} body`, text: pull.body, limit: GITHUB_LIMITS.body }, { where: `PR #${pull.number} title`, text: pull.title, limit: GITHUB_LIMITS.title }]),
    ...[...repo.comments].flatMap(([issue, comments]) => comments.map((comment) => ({ where: `comment on #${issue}`, text: comment.body, limit: GITHUB_LIMITS.body }))),
    ...repo.issues.map((issue) => ({ where: `issue #${issue.number} body`, text: issue.body, limit: GITHUB_LIMITS.body })),
    ...repo.checkRuns.flatMap((run) => [{ where: `${run.name} summary`, text: run.output.summary, limit: GITHUB_LIMITS.checkOutput }, { where: `${run.name} text`, text: run.output.text ?? '', limit: GITHUB_LIMITS.checkOutput }]),
    ...repo.deployments.flatMap((deployment) => deployment.statuses.map((status) => ({ where: `${deployment.environment} status`, text: status.description, limit: GITHUB_LIMITS.deploymentDescription }))),
  ];
}

describe('a release to 10,000 sites through the app', () => {
  let github: FakeGitHub;
  beforeEach(() => {
    github = new FakeGitHub();
  });
  afterEach(() => github.done());

  it('writes to GitHub per wave, not per site, every body within GitHub\'s limits without cutting one', { timeout: 300_000 }, async () => {
    const world = new FleetRelease(github, 10_000, inject('exampleOutputs'));
    const { ticks } = await world.run();
    const writes = github.calls.filter(isWrite);
    expect(writes.length).toBeLessThanOrEqual(60);
    expect(github.throttled).toEqual([]);
    const model = github.repo(FLEET_MODEL_REPO);
    // One deployment per wave; a status each time a wave's state changed.
    expect(model.deployments.map((deployment) => [deployment.environment, deployment.statuses.map((status) => status.state)])).toEqual([
      ['pump-forecaster/canary', ['in_progress', 'success']],
      ['pump-forecaster/ten', ['in_progress', 'success']],
      ['pump-forecaster/rest', ['in_progress', 'success']],
    ]);
    expect(model.deployments[1]?.statuses[1]?.description).toBe('1.0.0 to 900 targets: 900 healthy');
    const texts = textsOf(github);
    expect(texts.filter(({ text, limit }) => text.length > limit).map(({ where, text }) => `${where}: ${text.length}`)).toEqual([]);
    expect(texts.filter(({ text }) => text.includes('cut here: GitHub takes at most')).map(({ where }) => where)).toEqual([]);
    const end = model.comments.get(1)?.at(-1)?.body ?? '';
    expect(end).toMatch(/^Rolled pump-forecaster 1\.0\.0 out to every wave\./);
    expect(end).toContain('| rest | 9,000 |');
    expect(end).toMatch(/- \*\*Offloaded to the cloud\*\* \(1,000\): (`site-\d+0`, ){9}`site-\d+0` and 990 more \(every site is in \[the release record\]\(https:\/\/github\.com\/acme\/gitops\/blob\/main\/models\/pump-forecaster\/release\.yaml\)\)/);
    expect(ticks).toBeLessThanOrEqual(4);

    // A tick over the finished fleet writes nothing.
    const before = github.calls.length;
    await world.idleTick();
    expect(github.calls.slice(before).filter(isWrite)).toEqual([]);
  });
});
