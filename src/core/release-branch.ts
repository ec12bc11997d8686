/** Where every release branch lives. */
export const RELEASE_BRANCH_ROOT = 'edgeship/release/';
/** Prefix of every release branch of a model, for finding its open release PRs. */
export const releaseBranchPrefix = (model: string) => `${RELEASE_BRANCH_ROOT}${model}/`;

/** Deterministic release branch: the same model, version and commit always give the same name. */
export const releaseBranch = (model: string, version: string, sha: string) =>
  `${releaseBranchPrefix(model)}${version}-${sha.slice(0, 7)}`;

/** The model repo file a release PR changes: the release proposal (what it proposes to run where), one per model; the release record is the GitOps repo's models/<model>/release.yaml. */
export const RELEASE_PROPOSAL_FILE = '.edgeship/release.json';

/** The check run on a release PR's head that carries the gates' verdict and the proposal's digest. */
export const GATES_CHECK = 'edgeship/gates';

/** Parses a release branch back into its parts, or undefined for any other branch. */
export function parseReleaseBranch(branch: string): { model: string; version: string; shortSha: string } | undefined {
  const match = /^edgeship\/release\/([a-z0-9-]+)\/(\d+\.\d+\.\d+[^/]*)-([0-9a-f]{7})$/.exec(branch);
  return match ? { model: match[1] as string, version: match[2] as string, shortSha: match[3] as string } : undefined;
}
