import { z } from 'zod';
import { numberOrNull } from './formats.ts';

const tensorJson = z.strictObject({
  dtype: z.string(),
  dims: z.array(z.number().int().nonnegative()),
  data: z.array(z.number()),
});

/** golden.json as training writes it: inputs and the framework's outputs for a few samples. */
export const goldenFileSchema = z.object({
  framework: z.string().optional(),
  samples: z
    .array(z.strictObject({ inputs: z.record(z.string(), tensorJson), outputs: z.record(z.string(), tensorJson) }))
    .min(1),
});

export type GoldenFile = z.infer<typeof goldenFileSchema>;
export type TensorJson = z.infer<typeof tensorJson>;
export type TensorValues = Record<string, { dims: readonly number[]; data: ArrayLike<number> }>;

export const goldenResultSchema = z.object({
  passed: z.boolean(),
  samples: z.number().int().nonnegative(),
  compared: z.number().int().nonnegative(),
  mismatches: z.number().int().nonnegative(),
  /** Infinity when an output was NaN. */
  maxAbsError: numberOrNull(Number.POSITIVE_INFINITY),
  /** The worst element, to point at in the report; `actual` is NaN when the model answered NaN. */
  worst: z
    .object({
      sample: z.number().int(),
      output: z.string(),
      index: z.number().int(),
      expected: z.number(),
      actual: numberOrNull(Number.NaN),
    })
    .optional(),
  problems: z.array(z.string()),
});
export type GoldenResult = z.infer<typeof goldenResultSchema>;

/** Element-wise |actual − expected| ≤ atol + rtol·|expected|, as numpy.allclose. */
export function compareGolden(
  expected: GoldenFile,
  actual: TensorValues[],
  tolerance: { atol: number; rtol: number },
): GoldenResult {
  const result: GoldenResult = {
    passed: true,
    samples: expected.samples.length,
    compared: 0,
    mismatches: 0,
    maxAbsError: 0,
    problems: [],
  };
  let worstExcess = -Infinity;
  expected.samples.forEach((sample, sampleIndex) => {
    for (const [name, want] of Object.entries(sample.outputs)) {
      const got = actual[sampleIndex]?.[name];
      if (!got) {
        result.problems.push(`sample ${sampleIndex}: the model has no output "${name}"`);
        continue;
      }
      if (got.dims.join('x') !== want.dims.join('x')) {
        result.problems.push(
          `sample ${sampleIndex}: output "${name}" has shape [${got.dims.join(', ')}], golden has [${want.dims.join(', ')}]`,
        );
        continue;
      }
      want.data.forEach((value, index) => {
        const found = got.data[index] as number;
        const error = Math.abs(found - value);
        const excess = error - (tolerance.atol + tolerance.rtol * Math.abs(value));
        result.compared += 1;
        if (excess > 0 || Number.isNaN(found)) result.mismatches += 1;
        result.maxAbsError = Math.max(result.maxAbsError, Number.isNaN(found) ? Infinity : error);
        if (excess > worstExcess || Number.isNaN(found)) {
          worstExcess = Number.isNaN(found) ? Infinity : excess;
          result.worst = { sample: sampleIndex, output: name, index, expected: value, actual: found };
        }
      });
    }
  });
  result.passed = result.problems.length === 0 && result.mismatches === 0;
  return result;
}
