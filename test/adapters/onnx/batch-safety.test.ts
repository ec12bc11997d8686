import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { InferenceWorker } from '../../../src/adapters/onnx/inference-pool.ts';
import type { CheckedTensor, OutputTensor } from '../../../src/core/oip.ts';

const zoo = (name: string) => join(inject('modelZoo'), name);

/** A request of `rows` rows of `width` values, different for each `seed`. */
const request = (name: string, rows: number, width: number, seed: number): CheckedTensor[] => [
  {
    name,
    dtype: 'float32',
    dims: [rows, width],
    data: Float32Array.from({ length: rows * width }, (_, index) => seed * 1000 + index),
  },
];

/** An answer as text, 64-bit integers included. */
const text = (outputs: readonly OutputTensor[] | undefined) =>
  JSON.stringify(outputs?.map((output) => [output.dims, Array.from(output.data as ArrayLike<unknown>, String)]));

/** Hundreds of concurrent requests, each compared with the same request run alone: how many differ. */
async function concurrentMatchesAlone(worker: InferenceWorker, requests: CheckedTensor[][]): Promise<number> {
  const together = await Promise.all(requests.map((inputs) => worker.run(inputs)));
  let wrong = 0;
  for (const [index, inputs] of requests.entries())
    if (text(await worker.run(inputs)) !== text(together[index])) wrong += 1;
  return wrong;
}

describe('dynamic batching only where it cannot mix rows', () => {
  it.each([
    [
      'transposed.onnx',
      'an output leads with another dimension',
      0,
      /output "y" leads with 3, not the batch dimension "batch"/,
    ],
    [
      'batch-centered.onnx',
      'rows depend on each other',
      0,
      /a merged run of two rows does not answer each row as its run alone does/,
    ],
    ['two-dynamic.onnx', 'a second dynamic dimension', 256, /every input and output leads with "batch"/],
    ['ids-and-features.onnx', 'int64 ids beside features', 256, /every input and output leads with "batch"/],
  ])(
    '%s (%s): batches with %d rows at most, says why, and every concurrent answer equals the request run alone',
    async (file, _case, rows, why) => {
      const worker = await InferenceWorker.open(zoo(file), { inlineMaxMs: 0 });
      try {
        expect(worker.batching.rows).toBe(rows);
        expect(worker.batching.why).toMatch(why);
        const [input] = worker.contract.inputs;
        const make =
          file === 'ids-and-features.onnx'
            ? (seed: number): CheckedTensor[] => [
                { name: 'ids', dtype: 'int64', dims: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, BigInt(seed)]) },
                { name: 'x', dtype: 'float32', dims: [1, 4], data: Float32Array.from([seed, 0, 0, 1]) },
              ]
            : (seed: number) =>
                request(
                  input?.name ?? 'x',
                  1 + (seed % 3),
                  file === 'two-dynamic.onnx' ? (seed < 150 ? 2 : 3) : 3,
                  seed,
                );
        const requests = Array.from({ length: 300 }, (_, seed) => make(seed));
        expect(await concurrentMatchesAlone(worker, requests)).toBe(0);
        if (rows > 0) expect(worker.runs).toBeLessThan(600); // concurrent requests did share runs
      } finally {
        await worker.close();
      }
    },
  );

  it('batches the example model, proven at load', async () => {
    const worker = await InferenceWorker.open(join(inject('exampleOutputs'), 'model.onnx'));
    try {
      expect(worker.batching).toEqual({
        rows: 256,
        why: 'every input and output leads with "batch", and merged runs answer each row as alone',
      });
    } finally {
      await worker.close();
    }
  });
});
