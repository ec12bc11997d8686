import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPython } from '../../src/cli/demo-setup.ts';

const run = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

/** Models of every datatype and other layouts than the example's, cached by the script's hash. */
export async function modelZoo(): Promise<string> {
  const script = join(ROOT, 'test/fixtures/models/make_models.py');
  const hash = createHash('sha256')
    .update(await readFile(script))
    .digest('hex')
    .slice(0, 16);
  const zoo = join(ROOT, 'node_modules', '.cache', 'edgeship-zoo', hash);
  if (
    !existsSync(join(zoo, 'channels-first.onnx')) ||
    !existsSync(join(zoo, 'ids-and-features-renamed.onnx')) ||
    !existsSync(join(zoo, 'embedding.onnx')) ||
    !existsSync(join(zoo, 'window-and-id.onnx')) ||
    !existsSync(join(zoo, 'opposite-classifier.onnx'))
  ) {
    await rm(zoo, { recursive: true, force: true });
    await run(await findPython(), [script, `${zoo}.work`]);
    await cp(`${zoo}.work`, zoo, { recursive: true });
    await rm(`${zoo}.work`, { recursive: true, force: true });
  }
  return zoo;
}
