import { CONFLICT, untilSwapped, type SwapRetry } from '../core/compare-and-swap.ts';
import { GitOpsError } from '../core/errors.ts';
import type { GitOpsChange, GitOpsRepo, RepoRef, Scm } from '../ports.ts';

/**
 * GitOpsRepo over a branch on the forge: each change is one verified commit made with
 * compare-and-swap on the branch head (GitHub's createCommitOnBranch with expectedHeadOid).
 * When the head moved on, the change is re-read and re-applied on the new head, after a jittered
 * wait, until a deadline (core/compare-and-swap); never forced.
 */
export class ScmBranchRepo implements GitOpsRepo {
  constructor(
    private readonly scm: Scm,
    private readonly repo: RepoRef,
    private readonly branch: string,
    private readonly retry?: SwapRetry,
    /** The branch's head as the caller just made it: the first attempt trusts it instead of reading (compare-and-swap still checks it). */
    private knownHead?: string,
  ) {}

  /** The file at the branch's head, read with that head: the next change starts from it without asking again (compare-and-swap still checks it). */
  async read(path: string): Promise<string | undefined> {
    const { files, branchHead } = await this.scm.ask(this.repo, {
      branch: this.branch,
      files: { ref: this.branch, paths: [path] },
    });
    if (branchHead) this.knownHead = branchHead;
    return files.get(path);
  }

  async readAt(path: string, revision: string): Promise<string | undefined> {
    return this.scm.readFile(this.repo, path, revision);
  }

  async apply(change: GitOpsChange, message: string): Promise<{ sha: string; files: string[] } | undefined> {
    return untilSwapped(
      `${this.repo.owner}/${this.repo.repo}@${this.branch}`,
      async () => {
        const head = this.knownHead ?? (await this.scm.branchHead(this.repo, this.branch));
        this.knownHead = undefined;
        if (!head) throw new GitOpsError(`${this.repo.owner}/${this.repo.repo} has no branch ${this.branch}`);
        const read = batchedReader((paths) => this.scm.readFiles(this.repo, paths, head));
        const changes = await change(read);
        // Every file's current content at once, so the reads batch (one at a time, a release to
        // 10,000 sites made 10,000 queries for the files the change itself had not read).
        const current = await Promise.all(changes.map((write) => read(write.path)));
        const writes = changes.filter((write, index) => current[index] !== write.content);
        if (writes.length === 0) return undefined;
        const result = await this.scm.commitOnBranch(this.repo, this.branch, head, writes, message);
        return result === 'stale' ? CONFLICT : { sha: result.sha, files: writes.map((write) => write.path) };
      },
      this.retry,
    );
  }
}

interface Deferred {
  promise: Promise<string | undefined>;
  resolve: (value: string | undefined) => void;
  reject: (error: unknown) => void;
}

function deferred(): Deferred {
  let resolve: Deferred['resolve'] = () => undefined;
  let reject: Deferred['reject'] = () => undefined;
  const promise = new Promise<string | undefined>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/**
 * A cached file reader that gathers the reads a change makes in the same turn into one call,
 * so a release to many targets costs a few queries instead of one request per file.
 */
function batchedReader(
  load: (paths: string[]) => Promise<Map<string, string | undefined>>,
): (path: string) => Promise<string | undefined> {
  const cache = new Map<string, Promise<string | undefined>>();
  let batch: Map<string, Deferred> | undefined;
  const flush = (current: Map<string, Deferred>) => {
    batch = undefined;
    load([...current.keys()]).then(
      (files) => current.forEach((pending, path) => pending.resolve(files.get(path))),
      (error: unknown) => current.forEach((pending) => pending.reject(error)),
    );
  };
  return (path) => {
    const cached = cache.get(path);
    if (cached) return cached;
    if (!batch) {
      const current = new Map<string, Deferred>();
      batch = current;
      queueMicrotask(() => flush(current));
    }
    const pending = deferred();
    batch.set(path, pending);
    cache.set(path, pending.promise);
    return pending.promise;
  };
}
