import { resolve } from 'node:path';
import { simpleGit } from 'simple-git';
import { loadConfig } from '../adapters/fs/config-file.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { Provenance } from '../core/release-plan.ts';

export interface ModelRepo {
  directory: string;
  config: EdgeshipConfig;
}

export async function openModelRepo(directory: string): Promise<ModelRepo> {
  const absolute = resolve(directory);
  return { directory: absolute, config: await loadConfig(absolute) };
}

/** Commit and branch of the checkout, when it is a git repo. */
export async function gitProvenance(directory: string): Promise<Omit<Provenance, 'trainedAt' | 'command'>> {
  const git = simpleGit(directory);
  if (!(await git.checkIsRepo().catch(() => false))) return {};
  const commit = await git.revparse(['HEAD']).catch(() => undefined);
  const branch = await git.revparse(['--abbrev-ref', 'HEAD']).catch(() => undefined);
  return { ...(commit && { commit: commit.trim() }), ...(branch && branch.trim() !== 'HEAD' && { branch: branch.trim() }) };
}
