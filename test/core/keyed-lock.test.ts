import { describe, expect, it } from 'vitest';
import { KeyedLock } from '../../src/core/keyed-lock.ts';

describe('KeyedLock', () => {
  it('runs tasks of one key one after another, other keys alongside, and a failure does not stop the next', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        events.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      lock.run('a', task('a1', true)),
      lock.run('a', task('a2')),
      lock.run('b', task('b1')),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(events.indexOf('a1 end')).toBeLessThan(events.indexOf('a2 start'));
    expect(events.indexOf('b1 start')).toBeLessThan(events.indexOf('a1 end'));
  });
});
