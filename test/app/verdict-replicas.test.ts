import { describe, expect, it } from 'vitest';
import { LEADER_ADDRESS } from '../../src/adapters/k8s/leader-election.ts';
import { siteDriftToken } from '../../src/core/training-run.ts';
import { useAppReplicas } from '../helpers/app-replicas.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';

const SECRET = 'drift-secret';
const REPO = 'acme/pump-model';

describe('two app processes on one Lease, sites reporting their analysis', () => {
  const replicasWorld = useAppReplicas();

  it('records a verdict sent to either replica in the leader’s book, once: the follower hands it on to the address on the Lease', async () => {
    // GitHub as the replicas reach it through the proxy (readiness asks it for the app).
    new FakeGitHub();
    const { lease, serving, holder, stop } = await replicasWorld();
    try {
      const { ports } = await serving(['app-a', 'app-b'], { POD_IP: '127.0.0.1', EDGESHIP_DRIFT_SECRET: SECRET });
      const leader = holder() as string;
      const follower = leader === 'app-a' ? 'app-b' : 'app-a';
      expect(lease.lease('edgeship', 'edgeship-app')?.metadata?.annotations?.[LEADER_ADDRESS]).toBe(
        `http://127.0.0.1:${ports.get(leader)}`,
      );
      const post = (replica: string, interval: number) =>
        fetch(`http://127.0.0.1:${ports.get(replica)}/api/edgeship/verdicts`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${siteDriftToken(SECRET, REPO, 'pump-forecaster', 'plant-north')}`,
          },
          body: JSON.stringify({
            repo: REPO,
            model: 'pump-forecaster',
            version: '1.0.0',
            site: 'plant-north',
            interval,
            requests: 100,
            errors: 0,
            p99Ms: 3,
            verdict: 'passed',
          }),
        }).then(async (response) => [response.status, await response.json()] as const);
      // The follower needs to have read the Lease once since the leader wrote its address.
      await expect.poll(() => post(follower, 7), { timeout: 10_000, interval: 300 }).toEqual([202, { recorded: true }]);
      // Recorded where the leader keeps its counts: the same interval is not new there, nor through the follower.
      expect(await post(leader, 7)).toEqual([202, { recorded: false }]);
      expect(await post(follower, 7)).toEqual([202, { recorded: false }]);
      expect(await post(leader, 8)).toEqual([202, { recorded: true }]);
    } finally {
      await stop();
    }
  }, 120_000);
});
