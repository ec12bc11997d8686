import { afterEach, describe, expect, it, vi } from 'vitest';
import { PeriodicWork, type PeriodicTask } from '../../src/app/periodic-work.ts';

const logger = () => {
  const errors: string[] = [];
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (_: object, message: string) => void errors.push(message),
  };
  return { log, errors };
};

describe('the app’s timed work', () => {
  afterEach(() => vi.useRealTimers());

  it('runs each task on its interval (those marked so at once) while it leads, and nothing after it stops', async () => {
    vi.useFakeTimers();
    const runs: string[] = [];
    const task = (name: string, everyMs: number, atStart = false): PeriodicTask => ({
      name,
      everyMs,
      atStart,
      run: async () => (runs.push(name), 1),
    });
    const { log } = logger();
    const work = new PeriodicWork([task('resync', 1000, true), task('tick', 300), task('off', 0, true)], log);
    work.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual(['resync']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs.filter((name) => name === 'tick')).toHaveLength(3);
    expect(runs.filter((name) => name === 'resync')).toHaveLength(2);
    work.stop();
    const before = runs.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(runs).toHaveLength(before);
    expect(runs).not.toContain('off');
  });

  it('runs a nudged task at once on the leader, not on a follower; a failure is logged and the next run goes on', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const { log, errors } = logger();
    const work = new PeriodicWork(
      [
        {
          name: 'Rollout tick',
          everyMs: 100,
          run: async () => {
            calls += 1;
            if (calls === 2) throw new Error('GitHub is down');
            return 4;
          },
        },
      ],
      log,
    );
    expect(await work.nudge('Rollout tick')).toBe(0);
    expect(calls).toBe(0);
    work.start();
    expect(await work.nudge('Rollout tick')).toBe(4);
    expect(await work.nudge('Rollout tick')).toBe(0);
    expect(errors).toEqual(['Rollout tick failed']);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls).toBe(3);
    expect(() => work.nudge('Training tick')).toThrow('no periodic task "Training tick"');
    work.stop();
  });
});
