/** A fleet of `size` edge sites and one cloud target with a release placed on every one, for tests and benches at fleet scale. */
import { createHash } from 'node:crypto';
import type { EdgeshipConfig, Target } from '../../src/core/config.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';

/**
 * The config (every tenth site offloads; with `waves`, sites labelled by region and rolled out
 * to 1%, 10%, then all of them) and a passed report of release `version` (1.0.0 by default) placed on every target.
 */
export function fleet(
  size: number,
  options: { waves?: boolean; version?: string } = {},
): { config: EdgeshipConfig; report: EvaluationReport } {
  const labels = (index: number) =>
    options.waves ? `, labels: { ring: main, region: ${index % 2 === 0 ? 'eu' : 'us'} }` : '';
  const targets = Array.from(
    { length: size },
    (_, index) =>
      `  - { name: site-${index}, kind: edge, profile: jetson-orin-nano, memoryBudgetMb: 256, latencyBudgetMs: 20${labels(index)} }`,
  );
  const waves = options.waves
    ? 'rollout:\n  waves:\n    - { name: canary, selector: { ring: main }, percent: 1 }\n    - { name: ten, selector: { ring: main }, percent: 10 }\n    - { name: rest, selector: { ring: main } }\n'
    : '';
  const config = parseConfig(
    `model: pump\ntrain: { command: "true" }\nmetrics: { primary: f1, direction: maximize }\ntargets:\n${targets.join('\n')}\n  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 10, endpoint: "https://models.example/pump"${labels(0)} }\n${waves}gitops: { repo: x }\n`,
    'bench.yml',
  );
  const version = options.version ?? '1.0.0';
  // Each version its own artifact, so a second release changes every overlay.
  const digest = `sha256:${createHash('sha256').update(version).digest('hex')}`;
  const placement = config.targets.map((target: Target, index) => ({
    target: target.name,
    kind: target.kind,
    choice: target.kind === 'cloud' ? ('cloud' as const) : index % 10 === 0 ? ('offload' as const) : ('edge' as const),
    latencyBudgetMs: target.latencyBudgetMs,
    ...(target.kind === 'edge' && index % 10 === 0 && { offloadTo: 'cloud' }),
    reason: 'bench',
  }));
  const report = {
    model: 'pump',
    version: { version, bump: 'initial', reason: 'bench' },
    placement,
    passed: true,
    gates: [],
    metrics: [{ name: 'f1', value: 0.9 }],
    primary: { name: 'f1', direction: 'maximize', improved: true },
    artifact: { reference: `ghcr.io/acme/pump@${digest}`, digest },
  } as unknown as EvaluationReport;
  return { config, report };
}
