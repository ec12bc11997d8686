import { GitOpsError } from '../core/errors.ts';
import type { GitOpsChange, GitOpsRepo, RepoRef, Scm } from '../ports.ts';

/**
 * GitOpsRepo over a branch on the forge: each change is one verified commit made with
 * compare-and-swap on the branch head (GitHub's createCommitOnBranch with expectedHeadOid).
 * When the head moved on, the change is re-read and re-applied on the new head; never forced.
 */
export class ScmBranchRepo implements GitOpsRepo {
  constructor(
    private readonly scm: Scm,
    private readonly repo: RepoRef,
    private readonly branch: string,
    private readonly attempts = 5,
  ) {}

  async read(path: string): Promise<string | undefined> {
    return this.scm.readFile(this.repo, path, this.branch);
  }

  async readAt(path: string, revision: string): Promise<string | undefined> {
    return this.scm.readFile(this.repo, path, revision);
  }

  async apply(change: GitOpsChange, message: string): Promise<{ sha: string; files: string[] } | undefined> {
    for (let attempt = 1; attempt <= this.attempts; attempt += 1) {
      const head = await this.scm.branchHead(this.repo, this.branch);
      if (!head) throw new GitOpsError(`${this.repo.owner}/${this.repo.repo} has no branch ${this.branch}`);
      const cache = new Map<string, Promise<string | undefined>>();
      const read = (path: string) => {
        if (!cache.has(path)) cache.set(path, this.scm.readFile(this.repo, path, head));
        return cache.get(path) as Promise<string | undefined>;
      };
      const writes = [];
      for (const write of await change(read)) if ((await read(write.path)) !== write.content) writes.push(write);
      if (writes.length === 0) return undefined;
      const result = await this.scm.commitOnBranch(this.repo, this.branch, head, writes, message);
      if (result !== 'stale') return { sha: result.sha, files: writes.map((write) => write.path) };
    }
    throw new GitOpsError(`${this.repo.owner}/${this.repo.repo}@${this.branch} kept moving; gave up after ${this.attempts} attempts`);
  }
}
