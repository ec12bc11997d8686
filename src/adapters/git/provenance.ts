import { simpleGit } from 'simple-git';
import type { Provenance } from '../../core/report-schema.ts';

/** Commit and branch of the checkout, when it is a git repo. */
export async function gitProvenance(directory: string): Promise<Omit<Provenance, 'trainedAt' | 'command'>> {
  const git = simpleGit(directory);
  if (!(await git.checkIsRepo().catch(() => false))) return {};
  const commit = await git.revparse(['HEAD']).catch(() => undefined);
  const branch = await git.revparse(['--abbrev-ref', 'HEAD']).catch(() => undefined);
  return {
    ...(commit && { commit: commit.trim() }),
    ...(branch && branch.trim() !== 'HEAD' && { branch: branch.trim() }),
  };
}
