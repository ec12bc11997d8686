import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { ROOT } from './fixtures.ts';

const exec = promisify(execFile);
/** tsx's loader, as action.yml starts the actions. */
export const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** A script of the built project (test/global-setup.ts), e.g. `cli/main.js`. */
export const builtFile = (path: string) => join(inject('built'), 'dist', path);

/** Runs the edgeship CLI as a user would, built; resolves with the exit code instead of throwing. */
export async function runEdgeship(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [builtFile('cli/main.js'), ...args], options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
