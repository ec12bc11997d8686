import type { EdgeshipConfig } from '../../core/config.ts';
import { parseConfig } from '../../core/config-parse.ts';
import { ConfigError } from '../../core/errors.ts';
import { allowGitopsRepo, type OperatorPolicy } from '../../core/policy.ts';
import type { RepoRef, Scm } from '../../ports.ts';

export const CONFIG_PATH = '.github/edgeship.yml';

/** The config of a model repo at a commit; undefined when the repo has none (not a model repo). */
export async function readConfigAt(scm: Scm, repo: RepoRef, sha: string): Promise<EdgeshipConfig | undefined> {
  const text = await scm.readFile(repo, CONFIG_PATH, sha);
  return text === undefined ? undefined : parseConfig(text, `${repo.owner}/${repo.repo}:${CONFIG_PATH}@${sha.slice(0, 7)}`);
}

/** The GitOps repo of a config as owner and name, when the operator policy lets the app write there. */
export function gitopsRepoOf(config: EdgeshipConfig, policy: OperatorPolicy): RepoRef {
  allowGitopsRepo(policy, config.gitops.repo);
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(config.gitops.repo);
  if (!match) throw new ConfigError(CONFIG_PATH, [`gitops.repo: expected owner/name of a GitHub repository, found "${config.gitops.repo}"`]);
  return { owner: match[1] as string, repo: match[2] as string };
}

export const commitUrl = (repo: RepoRef, sha: string) => `https://github.com/${repo.owner}/${repo.repo}/commit/${sha}`;
