import type { EdgeshipConfig } from '../core/config.ts';
import { GitOpsError } from '../core/errors.ts';
import { releaseRecordPath, writeReleaseRecord } from '../core/release-record.ts';
import type { EvaluationReport } from '../core/release-plan.ts';
import { overlayPath, resourcesPatch, resourcesPatchPath, siteKustomizationPath, writeOverlay, writeSiteKustomization, type OverlaySpec } from '../core/overlays.ts';
import type { FileWrite, GitOpsChange, GitOpsRepo } from '../ports.ts';

/**
 * Plan: the GitOps change a release makes for the given targets (all by default):
 * 1. the release record of the model;
 * 2. per placed target, the model's overlay (its base is the placement), the resources patch
 *    of an edge site, and the model's entry in the site's kustomization.
 * A blocked target's overlay is left as it is: the site keeps what it runs.
 */
export function planGitOpsChange(config: EdgeshipConfig, report: EvaluationReport, targets?: readonly string[]): GitOpsChange {
  const artifact = report.artifact;
  if (!artifact) throw new GitOpsError(`${report.model} ${report.version.version} has no published artifact; publish before applying`);
  const chosen = report.placement.filter((decision) => !targets || targets.includes(decision.target));
  const path = releaseRecordPath(config.gitops.path, config.model);
  const byName = new Map(config.targets.map((target) => [target.name, target]));
  const placed = chosen.flatMap((decision) => {
    const target = byName.get(decision.target);
    if (!target || decision.choice === 'blocked') return [];
    const offloadUrl = decision.offloadTo ? byName.get(decision.offloadTo)?.endpoint : undefined;
    const spec: OverlaySpec = { model: report.model, target, choice: decision.choice, reference: artifact.reference, version: report.version.version, ...(offloadUrl && { offloadUrl }) };
    return [{ spec, overlay: overlayPath(target.name, report.model), site: siteKustomizationPath(target.name) }];
  });
  return async (read) => {
    // Every file is read up front and at once: a release to a large fleet touches thousands.
    const paths = [path, ...placed.flatMap((entry) => [entry.overlay, entry.site])];
    const current = new Map(await Promise.all(paths.map(async (file) => [file, await read(file)] as const)));
    const writes: FileWrite[] = [
      {
        path,
        content: writeReleaseRecord(current.get(path), {
          model: report.model,
          version: report.version.version,
          reference: artifact.reference,
          digest: artifact.digest,
          targets: chosen.map((decision) => ({ name: decision.target, choice: decision.choice, ...(decision.offloadTo && { offloadTo: decision.offloadTo }) })),
        }),
      },
    ];
    for (const { spec, overlay, site } of placed) {
      writes.push(
        { path: overlay, content: writeOverlay(current.get(overlay), spec) },
        { path: site, content: writeSiteKustomization(current.get(site), spec.target.name, report.model) },
      );
      if (spec.target.kind === 'edge') writes.push({ path: resourcesPatchPath(spec.target.name, report.model), content: resourcesPatch(spec) });
    }
    return writes;
  };
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
