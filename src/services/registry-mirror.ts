import type { EdgeshipConfig } from '../core/config.ts';
import type { ReleaseRecord } from '../core/release-record.ts';
import type { EvaluationReport } from '../core/report-schema.ts';
import type { ModelRegistry } from '../ports.ts';
import type { RolloutResult } from './rollout.ts';

export type MirrorAction = { registered: string } | { alias: string; version: string } | { missing: string };

/**
 * Mirrors a release's rollout into the model registry; the GitOps repo stays the truth:
 * 1. a version per release once a wave went out (source: the OCI reference; tags: digest,
 *    metrics, commit), found again by its digest so nothing is registered twice;
 * 2. when the rollout is done, aliases `edge` and/or `cloud` (where it runs) and `production`
 *    point at it; when it was rolled back or halted, they point back at the release the
 *    targets returned to (when the registry has it).
 */
export async function mirrorRelease(
  registry: ModelRegistry,
  config: EdgeshipConfig,
  report: EvaluationReport,
  result: RolloutResult,
  record: ReleaseRecord | undefined,
): Promise<MirrorAction[]> {
  const model = config.registry?.mlflow?.model ?? config.model;
  const artifact = report.artifact;
  if (!artifact || result.action.kind === 'superseded') return [];
  const actions: MirrorAction[] = [];
  const sent = Object.keys(record?.version === report.version.version ? (record.rollout?.waves ?? {}) : {}).length > 0;
  if (!sent) return actions;
  const tags = {
    ...Object.fromEntries(report.metrics.map((metric) => [`metric.${metric.name}`, String(metric.value)])),
    ...(report.provenance.commit && { 'git.commit': report.provenance.commit }),
  };
  const version = await registry.ensureVersion({
    model,
    version: report.version.version,
    digest: artifact.digest,
    source: artifact.reference,
    tags,
  });
  actions.push({ registered: version });
  const placed = new Set(
    report.placement
      .filter((decision) => decision.choice !== 'blocked')
      .map((decision) => (decision.kind === 'cloud' ? 'cloud' : 'edge')),
  );
  const aliases: string[] = [...[...placed].sort(), 'production'];
  if (result.status === 'done') {
    for (const alias of aliases) {
      await registry.setAlias(model, alias, version);
      actions.push({ alias, version });
    }
  } else if (result.status === 'rolled-back' || result.status === 'halted') {
    // What the fleet went back to: a target running another release, or what one ran before.
    const targets = Object.values(record?.targets ?? {});
    const release = report.version.version;
    const previous =
      targets.find((target) => target.version !== release) ??
      targets.map((target) => target.previous).find((entry) => entry && entry.version !== release);
    if (!previous) return actions;
    const back = await registry.versionOf(model, previous.digest);
    if (!back) return [...actions, { missing: previous.version }];
    for (const alias of aliases) {
      await registry.setAlias(model, alias, back);
      actions.push({ alias, version: back });
    }
  }
  return actions;
}
