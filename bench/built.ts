import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Inside node_modules, so the compiled files resolve the project's packages as dist/ would. */
const BUILD = join(ROOT, 'node_modules/.cache/edgeship-bench/build');

let cli: Promise<string> | undefined;

/**
 * The CLI as the serving image runs it (`npm run build`: tsc into dist/), compiled afresh into the
 * bench cache once per bench run, not the sources through tsx: tsx's transform wraps functions
 * for their names and costs a server ~25 µs of JavaScript a request, which a pod never pays.
 */
export function builtCli(): Promise<string> {
  cli ??= (async () => {
    await rm(join(BUILD, 'dist'), { recursive: true, force: true });
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, '.config/tsconfig.build.json'), '--outDir', join(BUILD, 'dist')]);
    // The CLI reads its version from the package.json above dist/.
    await copyFile(join(ROOT, 'package.json'), join(BUILD, 'package.json'));
    return join(BUILD, 'dist/cli/main.js');
  })();
  return cli;
}

/** A bench helper written in TypeScript (bench/minimal-server.ts), as plain JavaScript next to the built CLI. */
export async function builtScript(name: string): Promise<string> {
  const source = await readFile(join(ROOT, 'bench', name), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
  const file = join(BUILD, 'bench', name.replace(/\.ts$/, '.js'));
  await mkdir(join(BUILD, 'bench'), { recursive: true });
  await writeFile(file, outputText);
  return file;
}
