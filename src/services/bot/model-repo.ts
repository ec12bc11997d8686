import { CONFIG_PATH, type EdgeshipConfig } from '../../core/config.ts';
import { parseConfig } from '../../core/config-parse.ts';
import { ConfigError } from '../../core/errors.ts';
import { allowGitopsRepo, type OperatorPolicy } from '../../core/policy.ts';
import type { RepoRef, Scm } from '../../ports.ts';
import { ScmBranchRepo } from '../scm-branch-repo.ts';
import { repoName } from '../../core/formats.ts';

/** The config of a model repo at a commit; undefined when the repo has none (not a model repo). */
export async function readConfigAt(scm: Scm, repo: RepoRef, sha: string): Promise<EdgeshipConfig | undefined> {
  return configOf(repo, sha, await scm.readFile(repo, CONFIG_PATH, sha));
}

/** The config file's text as read at a commit, parsed; undefined when there was none. */
export const configOf = (repo: RepoRef, sha: string, text: string | undefined): EdgeshipConfig | undefined =>
  text === undefined ? undefined : parseConfig(text, `${repoName(repo)}:${CONFIG_PATH}@${sha.slice(0, 7)}`);

/** The GitOps repo of a config as owner and name, when the operator policy lets the app write there. */
export function gitopsRepoOf(config: EdgeshipConfig, policy: OperatorPolicy): RepoRef {
  allowGitopsRepo(policy, config.gitops.repo);
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(config.gitops.repo);
  if (!match)
    throw new ConfigError(CONFIG_PATH, [
      `gitops.repo: expected owner/name of a GitHub repository, found "${config.gitops.repo}"`,
    ]);
  return { owner: match[1] as string, repo: match[2] as string };
}

/** How the services reach the GitOps repo: through its own installation when the app can look it up. */
export interface GitopsAccess {
  scm: Scm;
  policy: OperatorPolicy;
  /** The Scm of another repo's installation (it may be in another org); the event's own when absent. */
  scmFor?: (repo: RepoRef) => Promise<Scm>;
}

/**
 * Whether a branch trains and releases: it is in `train.branches` of the config on the repo's
 * default branch, which only a merge there changes; never the branch's own config (a writer's
 * branch cannot track itself). A push to the default branch itself reads `pushed`, its config.
 */
export async function trackedBranch(
  scm: Scm,
  repo: RepoRef,
  branch: string,
  pushed?: EdgeshipConfig,
  defaultBranch?: string,
): Promise<boolean> {
  const main = defaultBranch ?? (await scm.defaultBranch(repo));
  if (branch === main && pushed) return pushed.train.branches.includes(branch);
  const head = await scm.branchHead(repo, main);
  let standing: EdgeshipConfig | undefined;
  try {
    standing = head ? await readConfigAt(scm, repo, head) : undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  return standing?.train.branches.includes(branch) ?? false;
}

/**
 * The GitOps repo of a config, allowed by the policy, written through its own installation.
 * Throws a GitOpsAccessError when the policy does not allow it or the app is not installed there.
 */
export async function openGitops(deps: GitopsAccess, config: EdgeshipConfig) {
  const gitopsRef = gitopsRepoOf(config, deps.policy);
  const scm = deps.scmFor ? await deps.scmFor(gitopsRef) : deps.scm;
  return { gitopsRef, gitopsScm: scm, gitops: new ScmBranchRepo(scm, gitopsRef, config.gitops.branch) };
}

export const commitUrl = (repo: RepoRef, sha: string) => `https://github.com/${repoName(repo)}/commit/${sha}`;
export const fileUrl = (repo: RepoRef, revision: string, path: string) =>
  `https://github.com/${repoName(repo)}/blob/${revision}/${path}`;
