import type { EdgeshipConfig } from '../core/config.ts';
import { GitOpsError } from '../core/errors.ts';
import { releaseRecordPath, writeReleaseRecord } from '../core/release-record.ts';
import type { EvaluationReport } from '../core/release-plan.ts';
import type { GitOpsChange, GitOpsRepo } from '../ports.ts';

/** Plan: the GitOps change a release makes for the given targets (all by default). */
export function planGitOpsChange(config: EdgeshipConfig, report: EvaluationReport, targets?: readonly string[]): GitOpsChange {
  const artifact = report.artifact;
  if (!artifact) throw new GitOpsError(`${report.model} ${report.version.version} has no published artifact; publish before applying`);
  const chosen = report.placement.filter((decision) => !targets || targets.includes(decision.target));
  const path = releaseRecordPath(config.gitops.path, config.model);
  return async (read) => [
    {
      path,
      content: writeReleaseRecord(await read(path), {
        model: report.model,
        version: report.version.version,
        reference: artifact.reference,
        digest: artifact.digest,
        targets: chosen.map((decision) => ({ name: decision.target, choice: decision.choice, ...(decision.offloadTo && { offloadTo: decision.offloadTo }) })),
      }),
    },
  ];
}

/** Apply: one commit in the GitOps repo, none when nothing changes. Refuses a release whose gates failed. */
export async function applyRelease(gitops: GitOpsRepo, config: EdgeshipConfig, report: EvaluationReport, targets?: readonly string[]) {
  if (!report.passed) {
    const failed = report.gates.filter((gate) => !gate.passed).map((gate) => gate.id);
    throw new GitOpsError(`${report.model} ${report.version.version} failed its gates (${failed.join(', ')}); it is not applied`);
  }
  const change = planGitOpsChange(config, report, targets);
  const placed = report.placement.filter((decision) => !targets || targets.includes(decision.target));
  const summary = placed.map((decision) => `${decision.target}=${decision.choice}`).join(', ');
  return gitops.apply(change, `release(${report.model}): ${report.version.version}\n\n${summary}\nartifact: ${report.artifact?.reference}`);
}
