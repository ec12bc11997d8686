import { parseReleaseBranch, releaseBranchPrefix } from '../../core/release-branch.ts';
import type { Logger, RepoRef, Scm } from '../../ports.ts';
import { deployMergedRelease } from './deploy.ts';
import { readConfigAt } from './model-repo.ts';
import { ensureReleasePr } from './release-pr.ts';

export interface ResyncDeps {
  scm: Scm;
  log: Logger;
  storeFor: Parameters<typeof ensureReleasePr>[0]['storeFor'];
}

export interface ResyncOutcome {
  deployed: number[];
  released: number[];
}

/**
 * Finishes work whose webhook was lost or whose process died, from what GitHub shows:
 * 1. the newest merged release PR whose merge commit has no deployments: its deploy step never
 *    completed (deployments come after the GitOps commit), so run it again;
 * 2. a successful training run for the head of a tracked branch with no release PR for that
 *    commit: its workflow_run event was lost, so make the release PR.
 * Both steps are idempotent; a resync with nothing unfinished changes nothing.
 */
export async function resyncRepo(deps: ResyncDeps, repo: RepoRef, defaultBranch: string): Promise<ResyncOutcome> {
  const { scm } = deps;
  const outcome: ResyncOutcome = { deployed: [], released: [] };
  const head = await scm.branchHead(repo, defaultBranch);
  const config = head ? await readConfigAt(scm, repo, head) : undefined;
  if (!config) return outcome;
  const prefix = releaseBranchPrefix(config.model);

  const merged = (await scm.listPullRequests(repo, prefix, 'closed')).find((pull) => pull.merged && pull.mergeSha);
  if (merged?.mergeSha && (await scm.deploymentEnvironments(repo, merged.mergeSha)).length === 0) {
    await deployMergedRelease(deps, repo, { number: merged.number, headRef: merged.head, mergeSha: merged.mergeSha });
    outcome.deployed.push(merged.number);
  }

  const releases = [...(await scm.listPullRequests(repo, prefix, 'open')), ...(await scm.listPullRequests(repo, prefix, 'closed'))];
  for (const branch of config.train.branches) {
    const run = await scm.latestRun(repo, config.train.workflow, branch);
    if (!run || run.status !== 'completed' || run.conclusion !== 'success') continue;
    if (releases.some((pull) => parseReleaseBranch(pull.head)?.shortSha === run.headSha.slice(0, 7))) continue;
    const result = await ensureReleasePr(deps, repo, run);
    if (typeof result === 'object') outcome.released.push(result.pullRequest);
  }
  if (outcome.deployed.length + outcome.released.length > 0) deps.log.info({ repo: `${repo.owner}/${repo.repo}`, ...outcome }, 'Resync finished unfinished work');
  return outcome;
}
