import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { GitOpsError, messageOf } from '../../core/errors.ts';
import type { GitOpsChange, GitOpsRepo } from '../../ports.ts';

export interface GitRemoteOptions {
  /** URL or path of the GitOps remote. */
  remote: string;
  branch: string;
  /** Directory for edgeship's own clone. */
  workdir: string;
  author?: { name: string; email: string };
  /** Attempts before giving up on a remote that keeps moving. */
  attempts?: number;
}

const BOT = { name: 'edgeship[bot]', email: 'edgeship@users.noreply.github.com' };
const WRITE_BATCH = 64;

/**
 * GitOpsRepo over any git remote with simple-git: fetch, reset to the remote head, apply the
 * change, commit, push. A rejected push means someone else committed first: fetch again and
 * re-apply, never force.
 */
export class GitRemoteRepo implements GitOpsRepo {
  private git: SimpleGit | undefined;

  constructor(private readonly options: GitRemoteOptions) {}

  async read(path: string): Promise<string | undefined> {
    await this.sync();
    return this.readLocal(path);
  }

  async readAt(path: string, revision: string): Promise<string | undefined> {
    const git = await this.sync();
    this.resolveInside(path);
    // An unknown commit or a file the commit lacks reads as absent, like a missing file.
    return git.show([`${revision}:${path}`]).catch(() => undefined);
  }

  async apply(change: GitOpsChange, message: string): Promise<{ sha: string; files: string[] } | undefined> {
    const attempts = this.options.attempts ?? 5;
    for (let attempt = 1; ; attempt += 1) {
      const git = await this.sync();
      const reads = new Map<string, Promise<string | undefined>>();
      const read = (path: string) => {
        if (!reads.has(path)) reads.set(path, this.readLocal(path));
        return reads.get(path) as Promise<string | undefined>;
      };
      const writes = await change(read);
      const differs = await Promise.all(writes.map(async (write) => (await read(write.path)) !== write.content));
      const pending = writes.filter((_, index) => differs[index]);
      const files = pending.map((write) => ({ file: this.resolveInside(write.path), content: write.content }));
      // Each directory once, then the files concurrently: a release to a large fleet writes
      // thousands of small files, and one mkdir per file costs more than the writes.
      await inBatches([...new Set(files.map(({ file }) => dirname(file)))], (directory) => mkdir(directory, { recursive: true }));
      await inBatches(files, ({ file, content }) => writeFile(file, content));
      const changed = pending.map((write) => write.path).sort();
      if (changed.length === 0) return undefined;
      // Every change in the clone is ours (sync() reset and cleaned it): staged with one short
      // command, not one argument per file, which a release to thousands of sites would overflow.
      await git.add(['-A', '.']);
      await git.commit(message);
      const sha = (await git.revparse(['HEAD'])).trim();
      try {
        await git.push('origin', `HEAD:refs/heads/${this.options.branch}`);
        return { sha, files: changed };
      } catch (error) {
        const refused = pushRefusal(messageOf(error));
        if (!refused.conflict || attempt >= attempts) {
          await git.reset(['--hard', `origin/${this.options.branch}`]).catch(() => undefined);
          throw new GitOpsError(`cannot push to ${this.options.remote} (${this.options.branch})${refused.conflict ? ` after ${attempt} attempts` : ''}: ${refused.reason}`, { cause: error });
        }
      }
    }
  }

  /** Clones once, then fetches and resets to the remote branch so every change starts from its head. */
  private async sync(): Promise<SimpleGit> {
    const { workdir, remote, branch } = this.options;
    try {
      if (!this.git) {
        if (!existsSync(resolve(workdir, '.git'))) {
          await mkdir(dirname(workdir), { recursive: true });
          await simpleGit().clone(remote, workdir, ['--branch', branch]);
        }
        const author = this.options.author ?? BOT;
        this.git = simpleGit(workdir, { config: [`user.name=${author.name}`, `user.email=${author.email}`] });
      }
      await this.git.fetch('origin', branch);
      await this.git.checkout(['-B', branch, `origin/${branch}`]);
      await this.git.reset(['--hard', `origin/${branch}`]);
      await this.git.clean('f', ['-d']);
      return this.git;
    } catch (error) {
      throw new GitOpsError(`cannot read the GitOps repo ${remote} (branch ${branch}): ${messageOf(error).split('\n')[0]}`, { cause: error });
    }
  }

  private async readLocal(path: string): Promise<string | undefined> {
    try {
      return await readFile(this.resolveInside(path), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private resolveInside(path: string): string {
    const file = resolve(this.options.workdir, path);
    const inside = relative(this.options.workdir, file);
    if (inside.startsWith('..') || resolve(inside) === inside) throw new GitOpsError(`"${path}" is outside the GitOps repo`);
    return file;
  }
}

/**
 * Why git refused a push, from its output: the ref's status line (`! [rejected] … (fetch first)`)
 * and the remote's error. Only someone else's commit landing first (a compare-and-swap conflict)
 * is worth trying again; a remote that refuses (a checked-out branch, a hook, permissions) says
 * the same the next time.
 */
export function pushRefusal(output: string): { conflict: boolean; reason: string } {
  const lines = output.split('\n').map((line) => line.trim());
  // `! [rejected] HEAD -> main (fetch first)`, or with --porcelain (simple-git) `!<tab>HEAD:refs/heads/main<tab>[rejected] (fetch first)`.
  const line = lines.find((candidate) => /^!\s/.test(candidate));
  const bracket = line && /\[[a-z ]+\]/.exec(line)?.[0];
  const why = line && /\([^)]*\)$/.exec(line)?.[0];
  const status = bracket ? `${bracket}${why ? ` ${why}` : ''}` : undefined;
  const remote = lines.find((line) => /^remote: (error|fatal):/.test(line))?.replace(/^remote: /, '');
  const conflict = /^\[rejected\] \((fetch first|non-fast-forward|stale info)\)|\((failed to update ref|cannot lock ref)/.test(status ?? '') || /cannot lock ref/.test(output);
  const checkedOut = /branch is currently checked out/.test(output);
  const hint = checkedOut ? ' (the GitOps repo must be a bare repository, e.g. git clone --bare <dir> <dir>.git, or a hosted remote: a push cannot update the branch checked out in a working copy)' : '';
  const reason = [status, remote && !checkedOut ? remote : undefined].filter(Boolean).join('; ') || (lines.find((line) => line !== '') ?? 'git gave no reason');
  return { conflict, reason: `${reason}${hint}` };
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += WRITE_BATCH) await Promise.all(items.slice(start, start + WRITE_BATCH).map(work));
}
