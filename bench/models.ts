import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPython } from '../src/cli/demo-setup.ts';
import { modelZoo } from '../test/helpers/model-zoo.ts';

const run = promisify(execFile);
const CACHE = new URL('../node_modules/.cache/edgeship-bench/', import.meta.url).pathname;

/** A forecaster of `hidden` units in `layers` GRU layers (untrained: latency does not depend on the weights), exported once and cached. */
export async function benchModel(hidden: number, layers: number): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const file = join(CACHE, `gru-${hidden}x${layers}.onnx`);
  if (!existsSync(file))
    await run(await findPython(), [
      new URL('export_model.py', import.meta.url).pathname,
      file,
      String(hidden),
      String(layers),
    ]);
  return file;
}

/** A benchmark model and the JSON body of an infer request of `rows` rows for it. */
export interface BenchModel {
  name: string;
  file: string;
  body: (rows: number) => string;
}

/** Values that look like readings, the same each run. */
function readings(count: number): number[] {
  let state = 7;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Number((40 + (state / 2 ** 32) * 20).toFixed(3));
  });
}

export const forecasterRequest = (rows: number) =>
  JSON.stringify({
    inputs: [{ name: 'readings', shape: [rows, 32, 3], datatype: 'FP32', data: readings(rows * 32 * 3) }],
  });
const idsAndFeaturesBody = (rows: number) =>
  JSON.stringify({
    inputs: [
      {
        name: 'ids',
        shape: [rows, 4],
        datatype: 'INT64',
        data: Array.from({ length: rows * 4 }, (_, index) => (index * 7919) % 100_000),
      },
      { name: 'x', shape: [rows, 4], datatype: 'FP32', data: readings(rows * 4) },
    ],
  });

/** The benchmark models: the example's size, a larger one, and one of two inputs, int64 ids beside fp32 features (where the server's own cost shows). */
export async function benchModels(): Promise<BenchModel[]> {
  return [
    { name: 'example (GRU 24×1)', file: await benchModel(24, 1), body: forecasterRequest },
    { name: 'larger (GRU 128×2)', file: await benchModel(128, 2), body: forecasterRequest },
    {
      name: 'two inputs, int64 + fp32',
      file: join(await modelZoo(), 'ids-and-features.onnx'),
      body: idsAndFeaturesBody,
    },
  ];
}
