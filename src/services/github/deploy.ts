import { EdgeshipError } from '../../core/errors.ts';
import { parseReleaseBranch, RELEASE_RECORD_FILE } from '../../core/release-branch.ts';
import type { EvaluationReport } from '../../core/release-plan.ts';
import { ScmBranchRepo } from '../scm-branch-repo.ts';
import type { Logger, RepoRef, Scm } from '../../ports.ts';
import { applyRelease } from '../apply.ts';
import { commitUrl, gitopsRepoOf, readConfigAt } from './model-repo.ts';

export interface MergedPull {
  number: number;
  headRef: string;
  mergeSha: string;
}

export type DeployOutcome = 'not-a-release' | { gitopsCommit: string; targets: number };

/**
 * Deploys a merged release PR:
 * 1. read the release record and the config at the merge commit;
 * 2. commit the release to the GitOps repo (compare-and-swap; nothing when already there);
 * 3. a GitHub Deployment per target environment, in progress until Argo CD reports health;
 * 4. a comment on the PR with the GitOps commit.
 */
export async function deployMergedRelease(deps: { scm: Scm; log: Logger }, repo: RepoRef, pull: MergedPull): Promise<DeployOutcome> {
  const { scm } = deps;
  const branch = parseReleaseBranch(pull.headRef);
  if (!branch) return 'not-a-release';
  const [config, recordText] = await Promise.all([readConfigAt(scm, repo, pull.mergeSha), scm.readFile(repo, RELEASE_RECORD_FILE, pull.mergeSha)]);
  if (!config || recordText === undefined) throw new EdgeshipError(`#${pull.number} merged ${pull.headRef}, but ${pull.mergeSha.slice(0, 7)} has no ${config ? RELEASE_RECORD_FILE : '.github/edgeship.yml'}`);
  const report = JSON.parse(recordText) as EvaluationReport;
  const gitopsRef = gitopsRepoOf(config);
  const gitops = new ScmBranchRepo(scm, gitopsRef, config.gitops.branch);
  const commit = await applyRelease(gitops, config, report);
  const sha = commit?.sha ?? (await scm.branchHead(gitopsRef, config.gitops.branch)) ?? '';
  const url = commitUrl(gitopsRef, sha);
  await scm.ensureDeployments(
    repo,
    pull.mergeSha,
    report.placement.map((decision) => ({
      environment: decision.target,
      description: `${report.model} ${report.version.version}: ${decision.choice}`,
      payload: { model: report.model, version: report.version.version, digest: report.artifact?.digest, placement: decision.choice },
      status: { state: 'in_progress' as const, description: `Committed to GitOps (${sha.slice(0, 7)}); waiting for Argo CD to sync`, url },
    })),
  );
  await scm.ensureComment(
    repo,
    pull.number,
    `<!-- edgeship:deployed:${report.model}:${report.version.version} -->`,
    `Released ${report.model} ${report.version.version} to the GitOps repo in ${url} (${report.placement.map((decision) => `${decision.target}: ${decision.choice}`).join(', ')}).`,
  );
  deps.log.info({ model: report.model, version: report.version.version, gitops: sha }, 'Release committed to GitOps');
  return { gitopsCommit: sha, targets: report.placement.length };
}
