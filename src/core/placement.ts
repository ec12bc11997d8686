import { batchOf, type EdgeshipConfig, type Target } from './config.ts';
import type { ProfileResult } from './profiling.ts';
import type { P95Estimate } from './stats.ts';

export type PlacementChoice = 'edge' | 'offload' | 'adaptive' | 'cloud' | 'blocked';

/**
 * What an edge cluster has room for, read live (its nodes' allocatable memory minus the memory
 * pods request, architectures, accelerators), or why the static inventory was used instead.
 */
export type LiveCapacity =
  | { source: 'cluster'; nodes: number; freeMemoryMb: number; arches: string[]; accelerators: string[] }
  | { source: 'inventory'; reason: string };

/** The architecture the edge-inference base schedules on (its node selector). */
export const EDGE_ARCH = 'arm64';

export interface PlacementDecision {
  target: string;
  kind: Target['kind'];
  /** The hardware profile the target's numbers come from. */
  profile?: string;
  /** Rows per request the target's numbers were measured at. */
  batch?: number;
  choice: PlacementChoice;
  /** p95 the target's clients would see: on-device, or cloud p95 + RTT when offloaded. */
  p95Ms?: number;
  latencyBudgetMs: number;
  memoryMb?: number;
  memoryBudgetMb?: number;
  /** The cloud target an offloaded site forwards to. */
  offloadTo?: string;
  reason: string;
  /** Where the edge numbers came from: the live cluster or the inventory, and why. */
  capacity?: string;
}

const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;

/** Whether a latency fits its budget, and the rule that said so. */
interface Verdict {
  fits: boolean;
  /** The p95 as the reason shows it: with its interval when there is one. */
  text: string;
  /** The interval alone, e.g. ` (0.48–0.60 ms over 5 rounds)`; empty without rounds. */
  interval: string;
  /** Set when the interval did not settle it: which rule decided. */
  rule?: string;
}

/**
 * A p95 against a budget. With an interval from rounds and nothing deployed: it fits when the
 * whole interval is within the budget, misfits when the whole interval is over it, and the
 * median decides an interval that straddles it. Against what is deployed (hysteresis), the
 * verdict changes only when the whole interval is beyond the budget by the margin
 * (`profiling.margin`): under it by that share to start fitting, over it to stop; anything
 * nearer keeps the deployed placement, so noise never flips one. Rounds that still disagree after
 * measuring again widen the margin by their spread.
 */
function latencyVerdict(point: number, estimate: P95Estimate | undefined, offsetMs: number, budget: number, deployedFits: boolean | undefined, margin: number): Verdict {
  if (!estimate) return { fits: point <= budget, text: `p95 ${ms(point)}`, interval: '' };
  const [low, high] = [estimate.lowMs + offsetMs, estimate.highMs + offsetMs];
  const interval = ` (${ms(low)}–${ms(high)} over ${estimate.rounds} rounds${estimate.stable ? '' : ', rounds disagree'})`;
  const text = `p95 ${ms(point)}${interval}`;
  if (deployedFits === undefined) {
    if (high <= budget) return { fits: true, text, interval };
    if (low > budget) return { fits: false, text, interval };
    return { fits: point <= budget, text, interval, rule: `the interval straddles the ${ms(budget)} budget and nothing is deployed: decided by the median` };
  }
  // Rounds that still disagree after measuring again say the machine was busy, not what the model
  // costs: the margin widens by their spread, so only a change far beyond the noise moves a placement.
  const wide = estimate.stable ? margin : (1 + margin) * (1 + estimate.spread) - 1;
  const share = `${Math.round(wide * 100)}%`;
  const why = estimate.stable ? '' : ` (the rounds still disagree by ${Math.round(estimate.spread * 100)}%, which widens the ${Math.round(margin * 100)}% margin)`;
  const beyond = deployedFits ? low > budget * (1 + wide) : high <= budget / (1 + wide);
  if (beyond) return { fits: !deployedFits, text, interval, rule: `the whole interval is ${deployedFits ? 'over' : 'under'} the ${ms(budget)} budget by more than the ${share} margin${why}: the deployed placement changes` };
  if (deployedFits ? high <= budget : low > budget) return { fits: deployedFits, text, interval };
  return { fits: deployedFits, text, interval, rule: `the interval is not beyond the ${ms(budget)} budget by the ${share} margin${why}: the deployed placement stays (hysteresis)` };
}

const withRule = (reason: string, verdicts: Verdict[]) => {
  const rules = verdicts.flatMap((verdict) => (verdict.rule ? [verdict.rule] : []));
  return rules.length > 0 ? `${reason}; ${rules.join('; ')}` : reason;
};
const mb = (value: number) => `${value.toFixed(1)} MiB`;

/**
 * Decides where the model runs for each target:
 * 1. edge when the model's peak memory fits the site's budget and its p95 on the site's
 *    hardware profile fits the site's latency budget;
 * 2. otherwise offload to the cloud when the cloud p95 plus the site's RTT fits;
 * 3. otherwise blocked. Cloud targets serve when their own p95 fits.
 */
export function planPlacement(
  config: EdgeshipConfig,
  /** A result for each of profilingNeeds(config). */
  results: readonly ProfileResult[],
  live: ReadonlyMap<string, LiveCapacity> = new Map(),
  /** What each target runs now (the release record): an uncertain measurement keeps it. */
  deployed: Readonly<Record<string, PlacementChoice>> = {},
): PlacementDecision[] {
  const clouds = config.targets.filter((target) => target.kind === 'cloud');
  const margin = config.profiling.margin;
  return config.targets.map((target) => {
    const batch = batchOf(config, target);
    const result = resultFor(results, target.profile, batch, target.name);
    return target.kind === 'cloud' ? placeCloud(target, result, deployed[target.name], margin) : placeEdge(target, result, clouds, results, live.get(target.name), deployed[target.name], margin);
  });
}

function resultFor(results: readonly ProfileResult[], profile: string, batch: number, target: string): ProfileResult {
  const result = results.find((candidate) => candidate.profile === profile && candidate.batch === batch);
  if (!result) throw new Error(`No profile result for "${profile}" at batch ${batch} (target ${target})`);
  return result;
}

const p95Of = (result: ProfileResult) => result.p95?.p95Ms ?? result.estimated.p95Ms;

function placeCloud(target: Target, result: ProfileResult, deployed: PlacementChoice | undefined, margin: number): PlacementDecision {
  const p95 = p95Of(result);
  const base = { target: target.name, kind: target.kind, profile: target.profile, batch: result.batch, p95Ms: p95, latencyBudgetMs: target.latencyBudgetMs, memoryMb: result.peakMemoryMb };
  // Hysteresis holds a serving placement; a blocked one is left as soon as the plain rule allows.
  const verdict = latencyVerdict(p95, result.p95, 0, target.latencyBudgetMs, deployed === 'cloud' ? true : undefined, margin);
  if (verdict.fits) return { ...base, choice: 'cloud', reason: withRule(`${verdict.text} on ${target.profile} fits the ${ms(target.latencyBudgetMs)} budget`, [verdict]) };
  return { ...base, choice: 'blocked', reason: withRule(`${verdict.text} on ${target.profile} exceeds the ${ms(target.latencyBudgetMs)} budget`, [verdict]) };
}

function placeEdge(
  target: Target,
  result: ProfileResult,
  clouds: Target[],
  results: readonly ProfileResult[],
  live: LiveCapacity | undefined,
  deployed: PlacementChoice | undefined,
  margin: number,
): PlacementDecision {
  const p95 = p95Of(result);
  const misfits: string[] = [];
  // The cluster's free memory counts when it is tighter than the target's budget.
  const clusterBinds = live?.source === 'cluster' && live.freeMemoryMb < (target.memoryBudgetMb ?? Infinity);
  const memoryBudget = clusterBinds ? live.freeMemoryMb : (target.memoryBudgetMb ?? Infinity);
  const budgetText = clusterBinds ? `${mb(memoryBudget)} free on the cluster` : `${mb(memoryBudget)} memory budget`;
  if (live?.source === 'cluster' && !live.arches.includes(EDGE_ARCH)) misfits.push(`would find no ${EDGE_ARCH} node on the cluster (found ${live.arches.join(', ') || 'no ready nodes'})`);
  if (result.peakMemoryMb > memoryBudget) misfits.push(`needs ${mb(result.peakMemoryMb)}, over the ${budgetText}`);
  else if (result.peakMemoryMb > result.memoryCeilingMb) {
    misfits.push(`needs ${mb(result.peakMemoryMb)}, over the ${mb(result.memoryCeilingMb)} a ${target.profile} has for the model`);
  }
  // Between edge and offload, either way only by the margin; from blocked, by the plain rule.
  const local = latencyVerdict(p95, result.p95, 0, target.latencyBudgetMs, deployed === 'edge' || deployed === 'adaptive' ? true : deployed === 'offload' ? false : undefined, margin);
  if (!local.fits) misfits.push(`${local.text} on ${target.profile} exceeds the ${ms(target.latencyBudgetMs)} budget`);
  const base = {
    target: target.name,
    kind: target.kind,
    profile: target.profile,
    batch: result.batch,
    latencyBudgetMs: target.latencyBudgetMs,
    memoryMb: result.peakMemoryMb,
    ...(Number.isFinite(memoryBudget) && { memoryBudgetMb: Number(memoryBudget.toFixed(1)) }),
    ...(live && { capacity: capacityText(live) }),
  };
  const cloud = target.offloadTo ? clouds.find((candidate) => candidate.name === target.offloadTo) : clouds[0];
  // The site's requests reach the cloud as they are: the cloud's latency at the site's batch.
  const cloudResult = cloud ? resultFor(results, cloud.profile, result.batch, target.name) : undefined;
  const remote = cloudResult ? p95Of(cloudResult) + target.rttMs : undefined;
  const away = cloudResult && remote !== undefined ? latencyVerdict(remote, cloudResult.p95, target.rttMs, target.latencyBudgetMs, deployed === 'offload' || deployed === 'adaptive' ? true : undefined, margin) : undefined;
  const remoteText = cloudResult && away ? `cloud p95 ${ms(p95Of(cloudResult))} + RTT ${ms(target.rttMs)} = ${ms(remote as number)}${away.interval}` : '';
  if (misfits.length === 0) {
    const fits = `fits on ${target.profile}: ${local.text} ${p95 <= target.latencyBudgetMs ? '≤' : 'against'} ${ms(target.latencyBudgetMs)}, ${mb(result.peakMemoryMb)} ≤ ${mb(memoryBudget)}`;
    // Both paths fit: an adaptive target runs the model and decides per request which answers in time.
    if (target.adaptive && cloud && away?.fits) {
      return { ...base, choice: 'adaptive', p95Ms: p95, offloadTo: cloud.name, reason: withRule(`${fits}; ${remoteText} fits too: the site decides per request (adaptive)`, [local, away]) };
    }
    return { ...base, choice: 'edge', p95Ms: p95, reason: withRule(fits, [local]) };
  }
  if (!cloud || !cloudResult || !away) {
    return { ...base, choice: 'blocked', p95Ms: p95, reason: `${misfits.join('; ')}, and there is no cloud target to offload to` };
  }
  if (away.fits) {
    return { ...base, choice: 'offload', p95Ms: remote, offloadTo: cloud.name, reason: withRule(`on the edge it ${misfits.join(' and ')}; ${remoteText} fits`, [local, away]) };
  }
  return { ...base, choice: 'blocked', p95Ms: p95, reason: withRule(`on the edge it ${misfits.join(' and ')}; offloading does not fit either (${remoteText})`, [local, away]) };
}

function capacityText(live: LiveCapacity): string {
  if (live.source === 'inventory') return `inventory (${live.reason})`;
  const accelerators = live.accelerators.length > 0 ? `, ${live.accelerators.join(', ')}` : '';
  return `cluster: ${live.nodes} node${live.nodes === 1 ? '' : 's'}, ${mb(live.freeMemoryMb)} free on the roomiest, ${live.arches.join('/')}${accelerators}`;
}
