import { COMMAND_ROLES } from '../../core/commands.ts';
import { allowBreaking, gatesPassed } from '../../core/gates.ts';
import { RELEASE_BRANCH_ROOT, RELEASE_PROPOSAL_FILE, GATES_CHECK } from '../../core/release-branch.ts';
import { refuseMerge } from '../../core/release-integrity.ts';
import type { EvaluationReport } from '../../core/report-schema.ts';
import { renderReport } from '../../core/report.ts';
import { parseEvaluationReport } from '../../core/report-schema.ts';
import type { RepoRef, Scm } from '../../ports.ts';
import { ScmBranchRepo } from '../scm-branch-repo.ts';
import { reportGates } from './release-pr.ts';

/** The label that allows a release PR's breaking change, as `/edgeship allow-breaking` does. */
export const ALLOW_BREAKING_LABEL = 'edgeship:allow-breaking';

/**
 * The label path: labelling needs only triage permission on GitHub, so the labeller's permission
 * is checked as for a command; the answer is a comment on the PR either way.
 */
export async function approveBreakingByLabel(scm: Scm, repo: RepoRef, issue: number, user: string): Promise<string> {
  const role = await scm.permissionOf(repo, user);
  const answer = COMMAND_ROLES.has(role)
    ? await approveBreaking(scm, repo, issue, user)
    : `@${user} the \`${ALLOW_BREAKING_LABEL}\` label allows a breaking change only from someone with write, maintain or admin permission (yours: ${role}); nothing was approved.`;
  await scm.ensureComment(repo, issue, `<!-- edgeship:allow-breaking:${user} -->`, answer);
  return answer;
}

/**
 * `/edgeship allow-breaking` on a release PR: someone with write access allows this release's
 * breaking contract change. The approval goes into the release proposal on the release branch
 * (who, when, where), the contract gate passes saying who allowed it, and the gates check run
 * on the new head carries the new proposal's digest, so merging it deploys exactly that. Only a
 * proposal this app wrote (release-integrity.ts) is approved; the answer is the comment to post.
 */
export async function approveBreaking(
  scm: Scm,
  repo: RepoRef,
  issue: number,
  user: string,
  now = new Date(),
): Promise<string> {
  const pull = (await scm.listPullRequests(repo, RELEASE_BRANCH_ROOT, 'open')).find(
    (candidate) => candidate.number === issue,
  );
  if (!pull)
    return `#${issue} is not an open edgeship release PR: \`/edgeship allow-breaking\` approves the breaking change of the release PR it is posted on.`;
  const [proposalText, gates] = await Promise.all([
    scm.readFile(repo, RELEASE_PROPOSAL_FILE, pull.headSha),
    scm.findCheckRun(repo, pull.headSha, GATES_CHECK),
  ]);
  const refused =
    proposalText === undefined
      ? `${pull.head} has no ${RELEASE_PROPOSAL_FILE}`
      : refuseMerge({ headSha: pull.headSha, gatesExternalId: gates?.externalId, proposalText });
  if (refused || proposalText === undefined) return `Not approved: ${refused}.`;
  const report = parseEvaluationReport(proposalText, `${RELEASE_PROPOSAL_FILE} at ${pull.headSha.slice(0, 7)}`);
  const title = `release(${report.model}): ${report.version.version}`;
  if (!report.contractDiff?.breaking) return `${title} breaks no client contract: there is nothing to allow.`;
  const given = report.approvals?.breaking;
  if (given) return `The breaking change of ${title} was already allowed by @${given.by} in ${given.where}.`;
  const approval = { by: user, at: now.toISOString(), where: `#${issue}` };
  const gatesAfter = allowBreaking(report.gates, report.contractDiff, approval);
  const approved: EvaluationReport = {
    ...report,
    gates: gatesAfter,
    passed: gatesPassed(gatesAfter),
    approvals: { ...report.approvals, breaking: approval },
  };
  const proposal = `${JSON.stringify(approved, null, 2)}\n`;
  const committed = await new ScmBranchRepo(scm, repo, pull.head).apply(
    async () => [{ path: RELEASE_PROPOSAL_FILE, content: proposal }],
    `${title}: breaking change allowed by @${user} in #${issue}`,
  );
  const head = committed?.sha ?? (await scm.branchHead(repo, pull.head)) ?? pull.headSha;
  await scm.ensurePullRequest(repo, { head: pull.head, base: pull.base, title, body: renderReport(approved) });
  await reportGates(scm, repo, head, approved, proposal, pull.url);
  const rest = approved.passed
    ? 'every gate passes now: merging the PR rolls it out'
    : `the other gates still fail: ${approved.gates
        .filter((gate) => !gate.passed)
        .map((gate) => gate.title)
        .join(', ')}`;
  return `@${user} allowed the breaking change of ${title} for this release; it is recorded in the release (${head.slice(0, 7)}), and ${rest}.`;
}
