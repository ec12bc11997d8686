import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPython } from '../src/cli/demo-setup.ts';

const run = promisify(execFile);
const CACHE = new URL('../node_modules/.cache/edgeship-bench/', import.meta.url).pathname;

/** A forecaster of `hidden` units in `layers` GRU layers (untrained: latency does not depend on the weights), exported once and cached. */
export async function benchModel(hidden: number, layers: number): Promise<string> {
  await mkdir(CACHE, { recursive: true });
  const file = join(CACHE, `gru-${hidden}x${layers}.onnx`);
  if (!existsSync(file)) await run(await findPython(), [new URL('export_model.py', import.meta.url).pathname, file, String(hidden), String(layers)]);
  return file;
}

/** The benchmark models: the example's size and a larger one. */
export async function benchModels(): Promise<{ name: string; file: string }[]> {
  return [
    { name: 'example (GRU 24×1)', file: await benchModel(24, 1) },
    { name: 'larger (GRU 128×2)', file: await benchModel(128, 2) },
  ];
}
