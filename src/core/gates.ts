import { z } from 'zod';
import type { EdgeshipConfig } from './config.ts';
import type { ContractDiff } from './contract.ts';
import { githubLogin, strict } from './formats.ts';
import type { GoldenResult } from './golden.ts';
import type { Metrics } from './metrics.ts';
import type { PlacementDecision } from './placement.ts';

export const gateResultSchema = z.object({
  id: z.string().max(200),
  title: z.string().max(500),
  passed: z.boolean(),
  reason: z.string().max(5000),
});
export type GateResult = z.infer<typeof gateResultSchema>;

export interface GateInputs {
  config: EdgeshipConfig;
  metrics: Metrics;
  baselineMetrics?: Metrics;
  golden: GoldenResult;
  contract?: ContractDiff;
  placement: PlacementDecision[];
  /** The version this release becomes: what gates.allowBreakingContract has to name to allow it. */
  version?: string;
  /**
   * Whether gates.allowBreakingContract counts: in the local loop it does (with a warning in the
   * report); on GitHub a breaking change is approved per release, on its PR.
   */
  configMayAllowBreaking?: boolean;
}

/** Who allowed a breaking change for one release, and where. */
export const breakingApprovalSchema = z.strictObject({
  by: githubLogin,
  at: z.string().max(100),
  /** The PR (or comment) it was allowed in, e.g. `#12`. */
  where: strict(/^#\d{1,10}$/, 'a PR number such as #12'),
});
export type BreakingApproval = z.infer<typeof breakingApprovalSchema>;

const fmt = (value: number) => (Math.abs(value) >= 100 ? value.toFixed(1) : Number(value.toPrecision(4)).toString());

/** Every gate of the config, each with a verdict and the sentence that explains it. */
export function evaluateGates(inputs: GateInputs): GateResult[] {
  return [
    ...thresholdGates(inputs),
    regressionGate(inputs),
    goldenGate(inputs),
    contractGate(inputs),
    placementGate(inputs),
  ];
}

export const gatesPassed = (gates: readonly GateResult[]) => gates.every((gate) => gate.passed);

function thresholdGates({ config, metrics }: GateInputs): GateResult[] {
  return Object.entries(config.gates.thresholds).map(([name, limit]) => {
    const value = metrics[name];
    const title = `${name}${limit.min !== undefined ? ` ≥ ${limit.min}` : ''}${limit.max !== undefined ? ` ≤ ${limit.max}` : ''}`;
    if (value === undefined)
      return { id: `threshold:${name}`, title, passed: false, reason: `metrics.json has no "${name}"` };
    const tooLow = limit.min !== undefined && value < limit.min;
    const tooHigh = limit.max !== undefined && value > limit.max;
    const passed = !tooLow && !tooHigh;
    const reason = passed
      ? `${name} is ${fmt(value)}`
      : `${name} is ${fmt(value)}, ${tooLow ? `below the minimum ${limit.min}` : `above the maximum ${limit.max}`}`;
    return { id: `threshold:${name}`, title, passed, reason };
  });
}

function regressionGate({ config, metrics, baselineMetrics }: GateInputs): GateResult {
  const { primary, direction } = config.metrics;
  const allowed = config.gates.maxRegression;
  const title = `${primary} no worse than deployed by more than ${fmt(allowed * 100)}%`;
  const value = metrics[primary] as number;
  const before = baselineMetrics?.[primary];
  if (before === undefined)
    return { id: 'regression', title, passed: true, reason: 'nothing deployed to compare with' };
  const worsening =
    (direction === 'maximize' ? before - value : value - before) / Math.max(Math.abs(before), Number.EPSILON);
  const change = `${fmt(before)} → ${fmt(value)}`;
  if (worsening <= allowed) {
    return {
      id: 'regression',
      title,
      passed: true,
      reason: worsening > 0 ? `${change}, ${fmt(worsening * 100)}% worse, within the limit` : `${change}`,
    };
  }
  return {
    id: 'regression',
    title,
    passed: false,
    reason: `${change} is ${fmt(worsening * 100)}% worse than deployed`,
  };
}

function goldenGate({ config, golden }: GateInputs): GateResult {
  const { atol, rtol } = config.gates.golden;
  const title = `ONNX outputs match the framework's on golden samples (atol ${atol}, rtol ${rtol})`;
  if (golden.passed) {
    return {
      id: 'golden',
      title,
      passed: true,
      reason: `${golden.compared} values over ${golden.samples} samples, max |Δ| ${golden.maxAbsError.toExponential(2)}`,
    };
  }
  const worst = golden.worst;
  const detail =
    golden.problems[0] ??
    `${golden.mismatches} of ${golden.compared} values differ; worst: sample ${worst?.sample} ${worst?.output}[${worst?.index}] expected ${worst?.expected}, got ${worst?.actual}`;
  return { id: 'golden', title, passed: false, reason: detail };
}

const CONTRACT_TITLE = 'Contract compatible with deployed clients';
/** The breaking changes of a contract diff, as one sentence. */
export const breakingList = (contract: ContractDiff) =>
  contract.changes
    .filter((change) => change.severity === 'breaking')
    .map((change) => change.detail)
    .join('; ');

function contractGate({ config, contract, version, configMayAllowBreaking = true }: GateInputs): GateResult {
  const title = CONTRACT_TITLE;
  if (!contract) return { id: 'contract', title, passed: true, reason: 'nothing deployed to compare with' };
  if (!contract.breaking) {
    return {
      id: 'contract',
      title,
      passed: true,
      reason: contract.changes.length === 0 ? 'unchanged' : 'changes are compatible',
    };
  }
  const list = breakingList(contract);
  const allowed = config.gates.allowBreakingContract;
  const becomes = version ?? 'the next major version';
  if (configMayAllowBreaking && allowed !== false && allowed === version)
    return {
      id: 'contract',
      title,
      passed: true,
      reason: `breaking (${list}), allowed for ${allowed} by gates.allowBreakingContract (local loop)`,
    };
  // An approval names the version it lets through, so it cannot stay on for the next breaking change.
  const stale =
    !configMayAllowBreaking || allowed === false
      ? ''
      : allowed === true
        ? ' (gates.allowBreakingContract: true allows no release: it names the version it allows, so that it lets one through)'
        : ` (gates.allowBreakingContract allows ${allowed}, not ${becomes})`;
  const how = configMayAllowBreaking
    ? `approve it with \`gates: { allowBreakingContract: "${becomes}" }\` in .github/edgeship.yml${stale} (the local loop; on GitHub, \`/edgeship allow-breaking\` on its PR)`
    : `approve it for this release with \`/edgeship allow-breaking\` on its PR${allowed !== false ? ' (gates.allowBreakingContract counts in the local loop only)' : ''}`;
  return { id: 'contract', title, passed: false, reason: `breaking: ${list}; ${how}` };
}

/** The gates of a release whose breaking change someone allowed: the contract gate passes, saying who. */
export function allowBreaking(
  gates: readonly GateResult[],
  contract: ContractDiff,
  approval: BreakingApproval,
): GateResult[] {
  return gates.map((gate) =>
    gate.id === 'contract'
      ? {
          ...gate,
          passed: true,
          reason: `breaking (${breakingList(contract)}), allowed by @${approval.by} in ${approval.where}`,
        }
      : gate,
  );
}

function placementGate({ placement }: GateInputs): GateResult {
  const blocked = placement.filter((decision) => decision.choice === 'blocked');
  const title = 'Every target has a placement within its budgets';
  if (blocked.length === 0)
    return { id: 'placement', title, passed: true, reason: `${placement.length} targets placed` };
  return {
    id: 'placement',
    title,
    passed: false,
    reason: `blocked: ${blocked.map((decision) => `${decision.target} (${decision.reason})`).join('; ')}`,
  };
}
