import { wavesOf, type EdgeshipConfig } from './config.ts';
import { diffContracts, type ContractDiff, type ModelContract } from './contract.ts';
import { evaluateGates, gatesPassed, type BreakingApproval, type GateResult } from './gates.ts';
import type { GoldenResult } from './golden.ts';
import { metricDeltas, type MetricDelta, type Metrics } from './metrics.ts';
import { planPlacement, type LiveCapacity, type PlacementChoice, type PlacementDecision } from './placement.ts';
import type { ProfileResult } from './profiling.ts';
import { nextVersion, type NextVersion } from './version.ts';

/** What ONNX inspection found out about a model file. */
export interface ModelInspection {
  sizeBytes: number;
  sha256: string;
  irVersion: number;
  producer: string;
  contract: ModelContract;
  metadata: Record<string, string>;
}

/** The release currently deployed, read from the GitOps repo and its artifact. */
/** A rollout wave in the report: its targets, and the selector and share that chose them. */
export interface WaveSummary {
  name: string;
  targets: string[];
  selector?: Record<string, string>;
  percent?: number;
}

export interface Baseline {
  version: string;
  reference: string;
  digest: string;
  metrics: Metrics;
  contract: ModelContract;
  /** Where each target runs it (the release record): an uncertain latency keeps it there. */
  placements?: Record<string, PlacementChoice>;
  /** The primary metric of the releases before, oldest first (the release record's history). */
  history?: { version: string; value: number }[];
  /** sha256 of the deployed artifact's model.onnx: a candidate with the same bytes is nothing to release. */
  modelSha256?: string;
}

export interface Provenance {
  /** Why this run trained: a push, a retrain request, or drift evidence from the edge. */
  trigger?: string;
  commit?: string;
  branch?: string;
  runUrl?: string;
  command?: string;
  trainedAt: string;
}

/** Everything a release PR shows and a release commit needs: the output of `evaluate`. */
/** A container image of a release (a modelcar, a serving image), pinned by digest. */
export interface PackageImage {
  reference: string;
  digest: string;
  platforms: string[];
}

export interface EvaluationReport {
  schemaVersion: 1;
  model: string;
  version: NextVersion;
  primary: { name: string; direction: 'maximize' | 'minimize'; improved: boolean };
  candidate: ModelInspection;
  baseline?: Omit<Baseline, 'contract' | 'metrics'>;
  metrics: MetricDelta[];
  contractDiff?: ContractDiff;
  golden: GoldenResult;
  profiles: ProfileResult[];
  placement: PlacementDecision[];
  /** The rollout's waves as the config resolves them (absent without rollout waves). */
  waves?: WaveSummary[];
  gates: GateResult[];
  passed: boolean;
  provenance: Provenance;
  /** Set once the artifact is published. */
  artifact?: { reference: string; digest: string; packages?: { modelcar?: PackageImage; image?: PackageImage } };
  /** Approvals given on the release PR: a breaking change allowed for this release. */
  approvals?: { breaking?: BreakingApproval };
}

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
