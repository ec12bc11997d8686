import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPython } from '../src/cli/demo-setup.ts';

const run = promisify(execFile);
const CACHE = new URL('../node_modules/.cache/edgeship-bench/', import.meta.url).pathname;

/** The benchmark models: the example's size and a larger one, exported once and cached. */
export async function benchModels(): Promise<{ name: string; file: string }[]> {
  await mkdir(CACHE, { recursive: true });
  const python = await findPython();
  const models = [
    { name: 'example (GRU 24×1)', hidden: 24, layers: 1 },
    { name: 'larger (GRU 128×2)', hidden: 128, layers: 2 },
  ];
  const result = [];
  for (const model of models) {
    const file = join(CACHE, `gru-${model.hidden}x${model.layers}.onnx`);
    if (!existsSync(file)) {
      await run(python, [new URL('export_model.py', import.meta.url).pathname, file, String(model.hidden), String(model.layers)]);
    }
    result.push({ name: model.name, file });
  }
  return result;
}
