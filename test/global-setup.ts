import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { findPython } from '../src/cli/demo-setup.ts';
import { builtProject } from './helpers/build.ts';
import { modelZoo } from './helpers/model-zoo.ts';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const EXAMPLE = join(ROOT, 'model-repo-example');
const SOURCES = ['data.py', 'model.py', 'train.py', 'params.json'];

declare module 'vitest' {
  export interface ProvidedContext {
    /** Directory with what model-repo-example's train.py wrote: model.onnx, metrics.json, … */
    exampleOutputs: string;
    /** Directory with the small ONNX models test/fixtures/models/make_models.py writes. */
    modelZoo: string;
    /** The project built as it ships (`npm run build`): dist/ there holds the CLI and the actions as JavaScript. */
    built: string;
  }
}

/**
 * Trains model-repo-example once for the whole run, so tests use a real model exported by
 * PyTorch. The result is cached by a hash of the training sources.
 */
export default async function setup(project: TestProject): Promise<void> {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(await readFile(join(EXAMPLE, file)));
  const cache = join(ROOT, 'node_modules', '.cache', 'edgeship-test', hash.digest('hex').slice(0, 16));
  if (!existsSync(join(cache, 'reference-stats.json'))) {
    const python = await findPython();
    const work = `${cache}.work`;
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    for (const file of SOURCES) await cp(join(EXAMPLE, file), join(work, file));
    await run(python, ['train.py', '--params', 'params.json', '--out', 'out'], { cwd: work });
    await rm(cache, { recursive: true, force: true });
    await cp(join(work, 'out'), cache, { recursive: true });
    await rm(work, { recursive: true, force: true });
  }
  project.provide('exampleOutputs', cache);
  project.provide('modelZoo', await modelZoo());
  project.provide('built', await builtProject());
}
