import { wavesOf, type EdgeshipConfig } from './config.ts';
import { diffContracts } from './contract.ts';
import { evaluateGates, gatesPassed } from './gates.ts';
import type { GoldenResult } from './golden.ts';
import { metricDeltas, type Metrics } from './metrics.ts';
import { planPlacement, type LiveCapacity } from './placement.ts';
import type { ProfileResult } from './profiling.ts';
import type { Baseline, EvaluationReport, ModelInspection, Provenance } from './report-schema.ts';
import { nextVersion, type NextVersion } from './version.ts';

export interface PlanInputs {
  config: EdgeshipConfig;
  inspection: ModelInspection;
  metrics: Metrics;
  golden: GoldenResult;
  profiles: ProfileResult[];
  baseline?: Baseline;
  provenance: Provenance;
  /** Live capacity of edge clusters by target, where it could be read. */
  live?: ReadonlyMap<string, LiveCapacity>;
  /** False on GitHub, where a breaking change is approved per release on its PR, not by config. */
  configMayAllowBreaking?: boolean;
}

/**
 * Turns measurements into a release decision:
 * 1. contract diff against the deployed release;
 * 2. placement per target from the profile results;
 * 3. gates over metrics, golden parity, contract and placement;
 * 4. the next version from the contract diff and the primary metric.
 */
export function planRelease(inputs: PlanInputs): EvaluationReport {
  const { config, inspection, metrics, baseline } = inputs;
  const contractDiff = baseline ? diffContracts(baseline.contract, inspection.contract) : undefined;
  const placement = planPlacement(config, inputs.profiles, inputs.live, baseline?.placements);
  const { primary, direction } = config.metrics;
  const value = metrics[primary] as number;
  const before = baseline?.metrics[primary];
  const improved = before !== undefined && (direction === 'maximize' ? value > before : value < before);
  // The same bytes as the deployed model: retraining reproduced it (or nothing changed), and a new
  // version of it would be a release of nothing.
  const same = baseline?.modelSha256 !== undefined && baseline.modelSha256 === inspection.sha256;
  const version: NextVersion = same
    ? {
        version: baseline.version,
        bump: 'none',
        reason: `the model is the deployed ${baseline.version} (same sha256): nothing to release`,
      }
    : nextVersion(baseline?.version, { breaking: contractDiff?.breaking ?? false, primaryImproved: improved, primary });
  const gates = evaluateGates({
    config,
    metrics,
    baselineMetrics: baseline?.metrics,
    golden: inputs.golden,
    contract: contractDiff,
    placement,
    version: version.version,
    ...(inputs.configMayAllowBreaking !== undefined && { configMayAllowBreaking: inputs.configMayAllowBreaking }),
  });
  return {
    schemaVersion: 1,
    model: config.model,
    version,
    primary: { name: primary, direction, improved },
    candidate: inspection,
    ...(baseline && {
      baseline: {
        version: baseline.version,
        reference: baseline.reference,
        digest: baseline.digest,
        ...(baseline.placements && { placements: baseline.placements }),
        ...(baseline.history?.length && { history: baseline.history }),
      },
    }),
    metrics: metricDeltas(metrics, baseline?.metrics),
    ...(contractDiff && { contractDiff }),
    golden: inputs.golden,
    profiles: inputs.profiles,
    placement,
    ...(config.rollout && {
      waves: wavesOf(config).map((wave) => ({
        name: wave.name,
        targets: wave.targets,
        ...(wave.selector && { selector: wave.selector }),
        ...(wave.percent !== undefined && { percent: wave.percent }),
      })),
    }),
    gates,
    passed: gatesPassed(gates),
    provenance: inputs.provenance,
  };
}
