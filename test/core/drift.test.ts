import { describe, expect, it } from 'vitest';
import { binOf, psi, referenceStatsSchema, sustainedDrift } from '../../src/core/drift.ts';

const DECILES = Array<number>(10).fill(0.1);

describe('drift', () => {
  it.each([
    [[1, 2, 3], 0.5, 0],
    [[1, 2, 3], 1, 1],
    [[1, 2, 3], 2.5, 2],
    [[1, 2, 3], 3, 3],
    [[1, 2, 3], 99, 3],
  ])('puts %j / %d in bin %d, as numpy searchsorted(side=right) does', (edges, value, bin) => {
    expect(binOf(edges, value)).toBe(bin);
  });

  it('scores a live window like the reference as stable and a shifted one as drifted', () => {
    expect(psi(DECILES, Array<number>(10).fill(50))).toBeCloseTo(0, 10);
    const shifted = [0, 0, 0, 0, 0, 50, 50, 100, 150, 150];
    expect(psi(DECILES, shifted)).toBeGreaterThan(0.25);
    // Worked by hand: half the reference mass moved from bin 0 to bin 1.
    const moved = [5, 15, 10, 10, 10, 10, 10, 10, 10, 10];
    expect(psi(DECILES, moved)).toBeCloseTo(0.05 * Math.log(0.5) * -1 + 0.05 * Math.log(1.5), 10);
    expect(psi(DECILES, [])).toBe(0);
  });

  it('asks for evidence only after the configured windows in a row', () => {
    const rule = { threshold: 0.2, windows: 3 };
    expect(sustainedDrift([0.3, 0.3], rule)).toBe(false);
    expect(sustainedDrift([0.3, 0.1, 0.3, 0.3], rule)).toBe(false);
    expect(sustainedDrift([0.1, 0.3, 0.3, 0.3], rule)).toBe(true);
  });

  it('refuses reference statistics whose bins do not add up', () => {
    const bad = { count: 10, features: [{ name: 't', input: 'x', index: 0, edges: [1, 2], proportions: [0.5, 0.5] }] };
    expect(referenceStatsSchema.safeParse(bad).success).toBe(false);
  });
});
