import { describe, expect, it } from 'vitest';
import { compareGolden, type GoldenFile } from '../../src/core/golden.ts';

const golden: GoldenFile = {
  samples: [
    {
      inputs: { x: { dtype: 'float32', dims: [1, 2], data: [1, 2] } },
      outputs: { y: { dtype: 'float32', dims: [1, 2], data: [10, -5] } },
    },
  ],
};
const tolerance = { atol: 1e-4, rtol: 1e-3 };

describe('compareGolden', () => {
  it('passes within atol + rtol·|expected|', () => {
    const result = compareGolden(golden, [{ y: { dims: [1, 2], data: [10.009, -5.005] } }], tolerance);
    expect(result).toMatchObject({ passed: true, compared: 2, mismatches: 0 });
    expect(result.maxAbsError).toBeCloseTo(0.009);
  });

  it('fails and points at the worst element', () => {
    const result = compareGolden(golden, [{ y: { dims: [1, 2], data: [10, -4.9] } }], tolerance);
    expect(result).toMatchObject({
      passed: false,
      mismatches: 1,
      worst: { sample: 0, output: 'y', index: 1, expected: -5, actual: -4.9 },
    });
  });

  it('fails on NaN outputs', () => {
    expect(compareGolden(golden, [{ y: { dims: [1, 2], data: [Number.NaN, -5] } }], tolerance).passed).toBe(false);
  });

  it('reports a missing output or a shape mismatch as a problem', () => {
    expect(compareGolden(golden, [{ z: { dims: [1, 2], data: [10, -5] } }], tolerance).problems).toEqual([
      'sample 0: the model has no output "y"',
    ]);
    expect(compareGolden(golden, [{ y: { dims: [2], data: [10, -5] } }], tolerance).problems).toEqual([
      'sample 0: output "y" has shape [2], golden has [1, 2]',
    ]);
  });
});
