import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LEADER_ADDRESS,
  LEASE_TIMING,
  LeaderElector,
  type LeaderDuties,
} from '../../../src/adapters/k8s/leader-election.ts';
import { SILENT } from '../../../src/ports.ts';
import { startLeaseApi } from '../../helpers/lease-server.ts';

/** client-go's ratios, ten times faster: a lease of 1.5 s, renewed within 1 s, tried every 0.2 s. */
const FAST = { leaseDurationMs: 1_500, renewDeadlineMs: 1_000, retryPeriodMs: 200 };

/** A replica's duties that log when it led, on one timeline shared by all replicas. */
function replica(
  name: string,
  timeline: { who: string; what: 'start' | 'stop'; at: number }[],
): LeaderDuties & { name: string } {
  return {
    name,
    start: () => timeline.push({ who: name, what: 'start', at: Date.now() }),
    stop: () => timeline.push({ who: name, what: 'stop', at: Date.now() }),
  };
}

/** Who led when: each start with the stop after it (or now). */
function terms(timeline: { who: string; what: 'start' | 'stop'; at: number }[]) {
  const open = new Map<string, number>();
  const closed: { who: string; from: number; to: number }[] = [];
  for (const event of timeline) {
    if (event.what === 'start') open.set(event.who, event.at);
    else if (open.has(event.who)) {
      closed.push({ who: event.who, from: open.get(event.who) as number, to: event.at });
      open.delete(event.who);
    }
  }
  for (const [who, from] of open) closed.push({ who, from, to: Infinity });
  return closed.sort((a, b) => a.from - b.from);
}

const overlapping = (list: ReturnType<typeof terms>) =>
  list.some((term, index) => index > 0 && term.from < (list[index - 1] as (typeof list)[number]).to);

describe('leader election on a Lease', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  async function world(names: string[]) {
    const api = await startLeaseApi();
    const timeline: { who: string; what: 'start' | 'stop'; at: number }[] = [];
    const replicas = names.map((name) => {
      const duties = replica(name, timeline);
      const elector = new LeaderElector({
        kubeconfig: api.kubeconfig(),
        namespace: 'edgeship',
        name: 'edgeship-app',
        identity: name,
        address: `http://${name}.test:3000`,
        log: SILENT,
        timing: FAST,
      });
      return { name, duties, elector };
    });
    cleanups.push(async () => {
      await Promise.all(replicas.map(({ elector, duties }) => elector.close(duties)));
      await api.stop();
    });
    return {
      api,
      timeline,
      replicas,
      leaders: () => replicas.filter(({ elector }) => elector.isLeader).map(({ name }) => name),
    };
  }

  it("uses client-go's timing by default: a lease of 15 s, renewed within 10 s, tried every 2 s", () => {
    expect(LEASE_TIMING).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it('elects one of three replicas racing for the Lease, which names it and keeps renewing it', async () => {
    const { api, timeline, replicas, leaders } = await world(['app-a', 'app-b', 'app-c']);
    for (const { elector, duties } of replicas) elector.run(duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    await sleep(FAST.leaseDurationMs * 2);
    expect(leaders()).toHaveLength(1);
    const [leader] = leaders();
    const lease = api.lease('edgeship', 'edgeship-app');
    expect(lease?.spec).toMatchObject({ holderIdentity: leader, leaseDurationSeconds: 2, leaseTransitions: 0 });
    // It renewed every retry period, and nobody else ever started.
    expect(api.writes.filter((write) => write.holder === leader).length).toBeGreaterThan(5);
    expect(terms(timeline).map((term) => term.who)).toEqual([leader]);
  });

  it('hands over at once when the leader closes: it stops, gives the Lease up, and a follower takes it without waiting out the lease', async () => {
    const { api, timeline, replicas, leaders } = await world(['app-a', 'app-b']);
    for (const { elector, duties } of replicas) elector.run(duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    const first = replicas.find(({ name }) => name === leaders()[0]);
    const closedAt = Date.now();
    await first?.elector.close(first.duties);
    await expect
      .poll(() => leaders(), { timeout: 5_000 })
      .toEqual(replicas.filter((entry) => entry !== first).map(({ name }) => name));
    const list = terms(timeline);
    expect(overlapping(list)).toBe(false);
    expect((list[1]?.from ?? Infinity) - closedAt).toBeLessThan(FAST.leaseDurationMs);
    expect(api.lease('edgeship', 'edgeship-app')?.spec?.leaseTransitions).toBe(0);
  });

  it('tells every replica where the leader is reached, through an annotation on the Lease, and nothing between leaders', async () => {
    const { api, replicas, leaders } = await world(['app-a', 'app-b', 'app-c']);
    for (const { elector, duties } of replicas) elector.run(duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    const addresses = () => replicas.map(({ elector }) => elector.leaderAddress);
    const leader = leaders()[0] as string;
    await expect.poll(addresses, { timeout: 5_000 }).toEqual(Array(3).fill(`http://${leader}.test:3000`));
    expect(api.lease('edgeship', 'edgeship-app')?.metadata?.annotations).toEqual({
      [LEADER_ADDRESS]: `http://${leader}.test:3000`,
    });
    // The leader goes: a follower takes over, and every replica left points at it.
    const first = replicas.find(({ name }) => name === leader);
    await first?.elector.close(first.duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    const next = leaders()[0] as string;
    expect(next).not.toBe(leader);
    await expect
      .poll(() => replicas.filter((entry) => entry !== first).map(({ elector }) => elector.leaderAddress), {
        timeout: 5_000,
      })
      .toEqual(Array(2).fill(`http://${next}.test:3000`));
    // A holder that stopped renewing (SIGKILL) is the leader to send to until its lease runs out;
    // then whoever takes the Lease over is.
    const held = await world(['app-d']);
    held.api.hold('edgeship', 'edgeship-app', 'app-x', { [LEADER_ADDRESS]: 'http://app-x.test:3000' });
    const lone = held.replicas[0];
    lone?.elector.run(lone.duties);
    await sleep(FAST.retryPeriodMs * 2);
    expect(lone?.elector.leaderAddress).toBe('http://app-x.test:3000');
    await expect.poll(() => lone?.elector.leaderAddress, { timeout: 5_000 }).toBe('http://app-d.test:3000');
  });

  it('takes over from a holder that stopped renewing after the lease duration on its own clock, counting the transition', async () => {
    const { api, replicas, leaders } = await world(['app-b']);
    // A crashed replica's Lease (SIGKILL): held, renewed a moment ago, never again.
    api.hold('edgeship', 'edgeship-app', 'app-a');
    const follower = replicas[0];
    const started = Date.now();
    follower?.elector.run(follower.duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toEqual(['app-b']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(FAST.leaseDurationMs - FAST.retryPeriodMs);
    expect(api.lease('edgeship', 'edgeship-app')?.spec).toMatchObject({ holderIdentity: 'app-b', leaseTransitions: 1 });
  });

  it('stops leading within the renew deadline when the API cannot be reached, before another replica could take over', async () => {
    const { api, timeline, replicas, leaders } = await world(['app-a', 'app-b']);
    for (const { elector, duties } of replicas) elector.run(duties);
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    const downAt = Date.now();
    api.down();
    await expect.poll(() => leaders(), { timeout: 5_000 }).toEqual([]);
    const stoppedAt = timeline.find((event) => event.what === 'stop')?.at ?? Infinity;
    expect(stoppedAt - downAt).toBeLessThan(FAST.leaseDurationMs);
    api.up();
    await expect.poll(() => leaders(), { timeout: 5_000 }).toHaveLength(1);
    expect(overlapping(terms(timeline))).toBe(false);
  });
});
