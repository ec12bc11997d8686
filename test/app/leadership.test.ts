import { setTimeout as sleep } from 'node:timers/promises';
import { parseAppSettings } from '../../src/compose/app-settings.ts';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import { LeaderElector, type LeaderDuties } from '../../src/adapters/k8s/leader-election.ts';
import { replicationFrom } from '../../src/app/leadership.ts';
import { SILENT } from '../../src/ports.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { startLeaseApi } from '../helpers/lease-server.ts';
import { testProbot } from '../helpers/webhooks.ts';

/** client-go's ratios, ten times faster. */
const FAST = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };
const RESYNC_MS = 100;

describe('two replicas of the app, one schedule', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  it('runs the timed work only on the replica holding the Lease, none while another holds it, and hands it over when the leader goes', async () => {
    const github = new FakeGitHub();
    // The Kubernetes API is a loopback server of its own; GitHub stays the fake.
    nock.enableNetConnect('127.0.0.1');
    const api = await startLeaseApi();
    // Another replica holds the Lease and then dies without giving it up.
    api.hold('edgeship', 'edgeship-app', 'app-gone');
    const replicas = ['app-a', 'app-b'].map((identity) => {
      const elector = new LeaderElector({
        kubeconfig: api.kubeconfig(),
        namespace: 'edgeship',
        name: 'edgeship-app',
        identity,
        log: SILENT,
        timing: FAST,
      });
      let duties: LeaderDuties | undefined;
      const app = testProbot({ resyncEveryMs: RESYNC_MS, schedule: { run: (given) => elector.run((duties = given)) } });
      return { identity, elector, app, close: () => elector.close(duties) };
    });
    cleanups.push(async () => {
      await Promise.all(replicas.map((replica) => replica.close()));
      await api.stop();
      github.done();
    });
    const resyncs = () => github.count('GET', /^\/app\/installations$/);
    const leaders = () => replicas.filter((replica) => replica.elector.isLeader).map((replica) => replica.identity);

    // While the dead replica's Lease runs, neither resyncs, though their resync would run every 100 ms.
    await sleep(FAST.leaseDurationMs / 2);
    expect(leaders()).toEqual([]);
    expect(resyncs()).toBe(0);

    // One takes over, and resyncs at once and then every 100 ms; the other does not.
    await expect.poll(leaders, { timeout: 5_000 }).toHaveLength(1);
    await expect.poll(resyncs, { timeout: 2_000 }).toBeGreaterThan(0);
    const [first] = leaders();
    const before = resyncs();
    await sleep(1_000);
    const perSecond = resyncs() - before;
    // One replica's 10 a second (a busy machine makes fewer), never two replicas' 20.
    expect(perSecond).toBeGreaterThan(2);
    expect(perSecond).toBeLessThanOrEqual(12);
    expect(leaders()).toEqual([first]);

    // The leader shuts down (SIGTERM): it stops, gives the Lease up, and the other leads at once.
    await replicas.find((replica) => replica.identity === first)?.close();
    await expect
      .poll(leaders, { timeout: 1_000 })
      .toEqual(replicas.filter((replica) => replica.identity !== first).map((replica) => replica.identity));
    const after = resyncs();
    await expect.poll(resyncs, { timeout: 2_000 }).toBeGreaterThan(after);
  });

  it('reads its Lease from the environment the Deployment sets, or runs alone without one', () => {
    expect(replicationFrom(parseAppSettings({}).lease, SILENT)).toBeUndefined();
    expect(() => replicationFrom(parseAppSettings({ EDGESHIP_LEASE_NAME: 'edgeship-app' }).lease, SILENT)).toThrow(
      "EDGESHIP_LEASE_NAME: expected the namespace of the Lease in POD_NAMESPACE (the downward API's metadata.namespace), found none",
    );
  });
});
