import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { z } from 'zod';
import { EdgeshipError, UsageError } from '../core/errors.ts';
import { parseJsonWith } from '../core/parse-json.ts';
import { childEnvironment } from '../compose/run-settings.ts';

const run = promisify(execFile);
const AUTHOR = ['-c', 'user.name=edgeship demo', '-c', 'user.email=demo@edgeship.dev'];

/** A Python that can import torch and onnx: $PYTHON, python3 on PATH, then Debian's. */
export async function findPython(env: NodeJS.ProcessEnv = childEnvironment()): Promise<string> {
  const candidates = [env.PYTHON, 'python3', '/usr/bin/python3'].filter((value): value is string => Boolean(value));
  for (const candidate of candidates) {
    const ok = await run(candidate, ['-c', 'import torch, onnx']).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  throw new EdgeshipError(
    `no Python with torch and onnx found (tried ${candidates.join(', ')}); install them (Debian: apt-get install python3-torch python3-onnx) or set PYTHON`,
  );
}

/** Copies `source` into a new git repo at `target` with one commit. */
export async function seedRepo(source: string, target: string, message: string): Promise<void> {
  await cp(source, target, {
    recursive: true,
    filter: (path) => !/(\/out|\/__pycache__|\/\.edgeship)(\/|$)/.test(path),
  });
  const git = simpleGit(target);
  await git.init(['--initial-branch=main']);
  await git.raw([...AUTHOR, 'add', '-A']);
  await git.raw([...AUTHOR, 'commit', '-q', '-m', message]);
}

/** A bare GitOps remote seeded from the templates, as a hosted repo would be. */
export async function seedGitOpsRemote(template: string, root: string): Promise<string> {
  const seed = join(root, 'gitops-seed');
  const bare = join(root, 'gitops.git');
  await seedRepo(template, seed, 'GitOps repo from the edgeship template');
  await simpleGit().clone(seed, bare, ['--bare']);
  await rm(seed, { recursive: true, force: true });
  return bare;
}

/** Changes the model's hyper-parameters and commits, as a data scientist would. */
export async function commitParams(repo: string, change: Record<string, number>, message: string): Promise<void> {
  const path = join(repo, 'params.json');
  const params = parseJsonWith(
    z.record(z.string(), z.number()),
    await readFile(path, 'utf8'),
    (issues) => new UsageError(`${path}: ${issues.join('; ')}`),
    'hyper-parameters',
  );
  await writeFile(path, `${JSON.stringify({ ...params, ...change }, null, 2)}\n`);
  await simpleGit(repo).raw([...AUTHOR, 'commit', '-q', '-am', message]);
}

export async function freshDirectory(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
}

/** `git show` of a commit in the GitOps remote: what Argo CD will sync. */
export async function showCommit(bare: string, sha: string): Promise<string> {
  return simpleGit().raw([
    '--git-dir',
    bare,
    'show',
    '--stat',
    '--patch',
    '--format=commit %H%nAuthor: %an%n%n    %s%n',
    sha,
  ]);
}
