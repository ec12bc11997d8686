import semver from 'semver';
import { targetNamed, wavesOf, type EdgeshipConfig } from '../core/config.ts';
import { GatesFailedError, GitOpsError } from '../core/errors.ts';
import type { RecordUpdate } from '../core/release-record.ts';
import type { EvaluationReport } from '../core/report-schema.ts';
import type { GitOpsChange, GitOpsRepo } from '../ports.ts';
import { offloadTargetOf, readRecord, recordAndOverlays, type Placement } from './gitops-writes.ts';

export interface ReleaseScope {
  /** Targets to write; every target by default. */
  targets?: readonly string[];
  /** The rollout state to record; by default the waves the targets cover are marked as sent now (every wave without targets). */
  rollout?: RecordUpdate['rollout'];
}

/**
 * Plan: the GitOps change a release makes for the given targets:
 * 1. nothing when the GitOps repo already has a newer release of the model, or has the waves this
 *    change sends (a replica sent them first);
 * 2. the release record: version, artifact, rollout and each target's placement;
 * 3. per placed target, its overlay, resources patch and site kustomization entry.
 * A person's hold leaves a target alone and a pin keeps its placement. A blocked target keeps
 * what it runs.
 */
export function planGitOpsChange(
  config: EdgeshipConfig,
  report: EvaluationReport,
  scope: ReleaseScope = {},
): GitOpsChange {
  const artifact = report.artifact;
  if (!artifact)
    throw new GitOpsError(
      `${report.model} ${report.version.version} has no published artifact; publish before applying`,
    );
  const version = report.version.version;
  const now = new Date().toISOString();
  const scoped = scope.targets && new Set(scope.targets);
  return async (read) => {
    const current = await readRecord(config, read);
    if (current.record && semver.valid(current.record.version) && semver.gt(current.record.version, version)) return [];
    // Waves the record says went out already: another replica sent them first (this change is
    // applied again after its commit), or the step is replayed. They went out then; nothing to write.
    const sending = Object.keys(scope.rollout?.waves ?? {});
    const recorded = current.record?.version === version ? (current.record.rollout?.waves ?? {}) : {};
    if (sending.length > 0 && sending.every((wave) => wave in recorded)) return [];
    // Applied again, a release keeps its rollout: when each wave went out and how it ended.
    const before = current.record?.version === version ? current.record.rollout : undefined;
    // A wave counts as sent only when every target of it was written: otherwise the rollout would
    // take its other targets for hand edits.
    const covered = wavesOf(config).filter((wave) => !scoped || wave.targets.every((target) => scoped.has(target)));
    const waves = {
      ...before?.waves,
      ...Object.fromEntries(covered.map((wave) => [wave.name, before?.waves[wave.name] ?? now])),
    };
    const rollout = scope.rollout ?? {
      status: before?.status ?? 'rolling-out',
      waves,
      ...(before?.reason && { reason: before.reason }),
    };
    const marks = current.record?.targets ?? {};
    const placements = report.placement.flatMap((decision): Placement[] => {
      const mark = marks[decision.target];
      if ((scoped && !scoped.has(decision.target)) || mark?.hold) return [];
      const placement = mark?.pin ?? (decision.choice === 'blocked' ? undefined : decision.choice);
      if (!placement) return [];
      const offloadTo =
        placement === 'offload' || placement === 'adaptive'
          ? offloadTargetOf(config, decision.target, decision.offloadTo)
          : undefined;
      const packaged = packageOf(config, decision.target, placement, artifact);
      return [
        {
          write: {
            name: decision.target,
            placement,
            version,
            digest: artifact.digest,
            ...(offloadTo && { offloadTo }),
            ...(packaged && { package: packaged }),
          },
          reference: artifact.reference,
        },
      ];
    });
    const primary = report.metrics.find((metric) => metric.name === report.primary.name);
    const release = {
      version,
      reference: artifact.reference,
      digest: artifact.digest,
      ...(primary && { primary: { metric: primary.name, value: primary.value } }),
    };
    return recordAndOverlays(config, read, current, { model: config.model, release, rollout }, placements);
  };
}

/** Targets listed one by one in a commit message up to this many; beyond, counted per placement. */
const LISTED = 20;

function placementSummary(placed: readonly { target: string; choice: string }[]): string {
  if (placed.length <= LISTED) return placed.map((decision) => `${decision.target}=${decision.choice}`).join(', ');
  const counts = new Map<string, number>();
  for (const decision of placed) counts.set(decision.choice, (counts.get(decision.choice) ?? 0) + 1);
  return `${placed.length} targets: ${[...counts].map(([choice, count]) => `${count} ${choice}`).join(', ')}`;
}

/** Apply: one commit in the GitOps repo, none when nothing changes. Refuses a release whose gates failed. */
export async function applyRelease(
  gitops: GitOpsRepo,
  config: EdgeshipConfig,
  report: EvaluationReport,
  scope: ReleaseScope = {},
) {
  if (!report.passed) {
    const failed = report.gates.filter((gate) => !gate.passed).map((gate) => `${gate.title}: ${gate.reason}`);
    throw new GatesFailedError(
      `${report.model} ${report.version.version} failed its gates, so it is not applied:\n${failed.map((line) => `  - ${line}`).join('\n')}\nFix what they name and release again (\`edgeship gates <report.json>\` lists them)`,
    );
  }
  const change = planGitOpsChange(config, report, scope);
  const scoped = scope.targets && new Set(scope.targets);
  const placed = report.placement.filter((decision) => !scoped || scoped.has(decision.target));
  const summary = placementSummary(placed);
  return gitops.apply(
    change,
    `release(${report.model}): ${report.version.version}\n\n${summary}\nartifact: ${report.artifact?.reference}`,
  );
}

/**
 * The container image a target deploys instead of pulling the artifact (`targets[].package`): the
 * release's modelcar for a cloud target, its serving image for an edge site that runs the model.
 */
function packageOf(
  config: EdgeshipConfig,
  name: string,
  placement: string,
  artifact: NonNullable<EvaluationReport['artifact']>,
): string | undefined {
  const wanted = targetNamed(config, name)?.package;
  if (wanted !== 'modelcar' && wanted !== 'image') return undefined;
  // A site that forwards every request runs no model: its image would be the forwarder's.
  if (placement === 'offload') return undefined;
  const pushed = artifact.packages?.[wanted];
  if (!pushed)
    throw new GitOpsError(
      `${name}: targets[].package is ${wanted}, but release ${artifact.reference} has no ${wanted} image: publish it with artifacts.${wanted} set`,
    );
  return pushed.reference;
}
