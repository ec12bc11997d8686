import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { useAppReplicas } from '../helpers/app-replicas.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';

describe('two app processes on one Lease', () => {
  const replicasWorld = useAppReplicas();

  it('runs the schedule on one, which has a push lost while both were down delivered again; when that one is killed (SIGKILL), the other takes over within the 15 s lease and asks for nothing twice', async () => {
    const github = new FakeGitHub();
    const { lease, start, holder, stop } = await replicasWorld();
    try {
      // A push GitHub failed to deliver while both replicas were down.
      const lost = github.delivered('lost-while-down', 'push', 0, 5);
      const replicas = new Map([
        ['app-a', start('app-a')],
        ['app-b', start('app-b')],
      ]);
      const resyncs = () => github.count('GET', /^\/app\/installations$/);
      await expect.poll(holder, { timeout: 20_000, interval: 200 }).toMatch(/^app-[ab]$/);
      // The leader resyncs as it starts leading; the follower never does.
      await expect.poll(resyncs, { timeout: 20_000, interval: 200 }).toBe(1);
      // Its sweep asks GitHub to deliver the lost push again, once.
      await expect.poll(() => github.redeliveries, { timeout: 10_000, interval: 200 }).toEqual([lost.id]);
      const first = holder() as string;
      const second = first === 'app-a' ? 'app-b' : 'app-a';
      const leader = replicas.get(first) as ChildProcess;
      leader.kill('SIGKILL');
      await once(leader, 'exit');
      const killedAt = Date.now();
      // It gave nothing up: the other waits out the lease, measured from when it last saw it renewed.
      await expect.poll(holder, { timeout: 20_000, interval: 200 }).toBe(second);
      const tookOverMs = Date.now() - killedAt;
      expect(tookOverMs).toBeLessThan(15_000 + 2_000 * 1.2 + 1_000);
      expect(lease.lease('edgeship', 'edgeship-app')?.spec?.leaseTransitions).toBe(1);
      await expect.poll(resyncs, { timeout: 10_000, interval: 200 }).toBe(2);
      // The new leader sweeps too, sees GitHub's attempt listed, and asks for nothing again.
      const sweeps = () => github.count('GET', /^\/app\/hook\/deliveries$/);
      await expect.poll(sweeps, { timeout: 10_000, interval: 200 }).toBe(2);
      expect(github.redeliveries).toEqual([lost.id]);
    } finally {
      await stop();
      github.done();
    }
  }, 60_000);
});
