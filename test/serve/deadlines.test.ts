import { describe, expect, it } from 'vitest';
import { Deadlines } from '../../src/serve/deadlines.ts';

const never = () => new Promise<never>(() => undefined);
const after = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('Deadlines', () => {
  it('answers each request that outlives the deadline with a 504 at its own deadline, and leaves the others alone', async () => {
    const deadlines = new Deadlines(60);
    const started = performance.now();
    const settled: { name: string; at: number; outcome: unknown }[] = [];
    const watch = (name: string, work: Promise<unknown>) =>
      work.then(
        (value) => settled.push({ name, at: performance.now() - started, outcome: value }),
        (error: { status?: number }) => settled.push({ name, at: performance.now() - started, outcome: error.status }),
      );
    const first = watch('first', deadlines.race(never()));
    const quick = watch('quick', deadlines.race(after(10, 'answer')));
    await after(30, undefined);
    const second = watch('second', deadlines.race(never()));
    const failing = watch('failing', deadlines.race(Promise.reject(Object.assign(new Error('x'), { status: 400 }))));
    await Promise.all([first, quick, second, failing]);

    expect(settled.map(({ name, outcome }) => [name, outcome])).toEqual([
      ['quick', 'answer'],
      ['failing', 400],
      ['first', 504],
      ['second', 504],
    ]);
    // Neither is cut short: each waited its whole deadline, counted from when it came.
    expect(settled.find(({ name }) => name === 'first')?.at).toBeGreaterThanOrEqual(59);
    expect(settled.find(({ name }) => name === 'second')?.at).toBeGreaterThanOrEqual(30 + 59);
  });

  it('names the deadline in the error', async () => {
    const error = await new Deadlines(5).race(never()).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 504 });
    expect((error as Error).message).toContain('within 5 ms');
  });
});
