import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { FleetRelease, textsOf } from '../helpers/fleet-release.ts';

describe('a release to 10,000 sites through the app', () => {
  let github: FakeGitHub;
  beforeEach(() => {
    github = new FakeGitHub();
  });
  afterEach(() => github.done());

  it(
    "writes to GitHub per wave, not per site, every body within GitHub's limits without cutting one",
    { timeout: 300_000 },
    async () => {
      const world = new FleetRelease(github, 10_000, inject('exampleOutputs'));
      const { ticks } = await world.run();
      const writes = github.calls.filter(isWrite);
      expect(writes.length).toBeLessThanOrEqual(60);
      expect(github.throttled).toEqual([]);
      const model = github.repo('acme/pump-model');
      // One deployment per wave, with one status: when the wave ended.
      expect(
        model.deployments.map((deployment) => [
          deployment.environment,
          deployment.statuses.map((status) => status.state),
        ]),
      ).toEqual([
        ['pump-forecaster/canary', ['success']],
        ['pump-forecaster/ten', ['success']],
        ['pump-forecaster/rest', ['success']],
      ]);
      expect(model.deployments[1]?.statuses[0]?.description).toBe('1.0.0 to 900 targets: 900 healthy');
      const texts = textsOf(github);
      expect(
        texts.filter(({ text, limit }) => text.length > limit).map(({ where, text }) => `${where}: ${text.length}`),
      ).toEqual([]);
      expect(
        texts.filter(({ text }) => text.includes('cut here: GitHub takes at most')).map(({ where }) => where),
      ).toEqual([]);
      const end = model.comments.get(1)?.at(-1)?.body ?? '';
      expect(end).toMatch(/^Rolled pump-forecaster 1\.0\.0 out to every wave\./);
      expect(end).toContain('| rest | 9,000 |');
      expect(end).toMatch(
        /- \*\*Offloaded to the cloud\*\* \(1,000\): (`site-\d+0`, ){9}`site-\d+0` and 990 more \(every site is in \[the release record\]\(https:\/\/github\.com\/acme\/gitops\/blob\/main\/models\/pump-forecaster\/release\.yaml\)\)/,
      );
      expect(ticks).toBeLessThanOrEqual(4);

      // A tick over the finished fleet writes nothing.
      const before = github.calls.length;
      await world.idleTick();
      expect(github.calls.slice(before).filter(isWrite)).toEqual([]);
    },
  );
});
