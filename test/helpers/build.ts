import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The project compiled by tsc, as the serving image and a built checkout run it, cached by a hash
 * of the sources (one build per process). Tests run the CLI from it (the actions run as
 * action.yml starts them, through tsx): a process started through tsx spends ~0.5 s more starting
 * (its transform runs on a hooks thread), and the compiled worker and profiler children are what
 * ships. The files the CLI reads next to dist/ are linked in.
 */
export function builtProject(): Promise<string> {
  building ??= build();
  return building;
}

let building: Promise<string> | undefined;

async function build(): Promise<string> {
  const hash = createHash('sha256');
  const inputs = [
    'package.json',
    'tsconfig.json',
    '.config/tsconfig.build.json',
    ...(await readdir(join(ROOT, 'src'), { recursive: true })).map((file) => join('src', file)).sort(),
  ];
  for (const file of inputs) {
    const path = join(ROOT, file);
    if ((await stat(path)).isFile()) hash.update(file).update(await readFile(path));
  }
  const directory = join(ROOT, 'node_modules', '.cache', 'edgeship-build', hash.digest('hex').slice(0, 16));
  if (!existsSync(join(directory, 'dist', 'cli', 'main.js'))) {
    const work = `${directory}.work`;
    await rm(work, { recursive: true, force: true });
    await promisify(execFile)(process.execPath, [
      createRequire(import.meta.url).resolve('typescript/bin/tsc'),
      '-p',
      join(ROOT, '.config/tsconfig.build.json'),
      '--outDir',
      join(work, 'dist'),
    ]);
    await cp(join(ROOT, 'package.json'), join(work, 'package.json'));
    for (const linked of ['templates', 'model-repo-example']) await symlink(join(ROOT, linked), join(work, linked));
    await rm(directory, { recursive: true, force: true });
    await rename(work, directory);
  }
  return directory;
}
