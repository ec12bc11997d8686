import Bottleneck from 'bottleneck';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { EdgeshipOctokit } from '../../src/app/octokit.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { FLEET_MODEL_REPO, FleetRelease } from '../helpers/fleet-release.ts';

/**
 * The app's own Octokit (throttling on, secondary limits retried) against a GitHub whose limits
 * are lowered so a release meets them: a retry-after of N seconds waits N ms here, and writes are
 * not spaced one or three seconds apart, so the test takes seconds, not hours.
 */
const FastOctokit = EdgeshipOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  retry: { enabled: false },
  throttle: {
    ...(options.throttle as object),
    retryAfterBaseValue: 1,
    write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
    notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
  },
}));

describe("GitHub's secondary rate limits", () => {
  let github: FakeGitHub | undefined;
  afterEach(() => github?.done());

  it(
    'are waited out: a release that meets them many times finishes with every write made once',
    { timeout: 120_000 },
    async () => {
      const outputs = inject('exampleOutputs');
      // The same release on a GitHub without the lowered limits, to compare with.
      const unlimited = (github = new FakeGitHub());
      await new FleetRelease(unlimited, 20, outputs, { Octokit: FastOctokit }).run();
      const expected = unlimited.calls.filter(isWrite).length;
      const deployments = unlimited
        .repo(FLEET_MODEL_REPO)
        .deployments.map((deployment) => [deployment.environment, deployment.statuses.map((status) => status.state)]);
      unlimited.done();

      github = new FakeGitHub();
      github.limits.perMinute = 3;
      const { ticks } = await new FleetRelease(github, 20, outputs, { Octokit: FastOctokit }).run();
      expect(ticks).toBeGreaterThan(0);
      expect(github.throttled.length).toBeGreaterThan(5);
      // Every refused write was made again after its wait: as many accepted writes as without the limits.
      expect(github.calls.filter(isWrite).length - github.throttled.length).toBe(expected);
      expect(
        github
          .repo(FLEET_MODEL_REPO)
          .deployments.map((deployment) => [deployment.environment, deployment.statuses.map((status) => status.state)]),
      ).toEqual(deployments);
    },
  );
});
