import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { builtProject } from '../test/helpers/build.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The CLI as the serving image runs it (`npm run build`: tsc into dist/), from the build the tests
 * use (cached by a hash of the sources), not the sources through tsx: tsx's transform wraps
 * functions for their names and costs a server ~25 µs of JavaScript a request, which a pod never
 * pays.
 */
export async function builtCli(): Promise<string> {
  return join(await builtProject(), 'dist/cli/main.js');
}

/** A bench helper written in TypeScript (bench/minimal-server.ts), as plain JavaScript next to the built CLI. */
export async function builtScript(name: string): Promise<string> {
  const source = await readFile(join(ROOT, 'bench', name), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const directory = join(await builtProject(), 'bench');
  const file = join(directory, name.replace(/\.ts$/, '.js'));
  await mkdir(directory, { recursive: true });
  await writeFile(file, outputText);
  return file;
}
