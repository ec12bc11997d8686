import { z } from 'zod';
import { batchOf, type EdgeshipConfig, type Target } from './config.ts';
import { dnsLabel, finite } from './formats.ts';
import type { ProfileResult } from './profiling.ts';
import type { P95Estimate } from './stats.ts';

export const placementChoiceSchema = z.enum(['edge', 'offload', 'adaptive', 'cloud', 'blocked']);
export type PlacementChoice = z.infer<typeof placementChoiceSchema>;

/**
 * What an edge cluster has room for, read live (its nodes' allocatable memory minus the memory
 * pods request, architectures, accelerators), or why the static inventory was used instead.
 */
export type LiveCapacity =
  | { source: 'cluster'; nodes: number; freeMemoryMb: number; arches: string[]; accelerators: string[] }
  | { source: 'inventory'; reason: string };

/** The architecture the edge-inference base schedules on (its node selector). */
export const EDGE_ARCH = 'arm64';

export const placementDecisionSchema = z.object({
  target: dnsLabel,
  kind: z.enum(['edge', 'cloud']),
  /** The hardware profile the target's numbers come from. */
  profile: dnsLabel.optional(),
  /** Rows per request the target's numbers were measured at. */
  batch: z.number().int().positive().optional(),
  choice: placementChoiceSchema,
  /** p95 the target's clients would see: on-device, or cloud p95 + RTT when offloaded. */
  p95Ms: finite.optional(),
  latencyBudgetMs: finite,
  memoryMb: finite.optional(),
  memoryBudgetMb: finite.optional(),
  /** The cloud target an offloaded site forwards to. */
  offloadTo: dnsLabel.optional(),
  reason: z.string().max(2000),
  /** Where the edge numbers came from: the live cluster or the inventory, and why. */
  capacity: z.string().max(2000).optional(),
});
export type PlacementDecision = z.infer<typeof placementDecisionSchema>;

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
 * A p95 against a budget, where `point` is the p95 placement decides on and the interval (from
 * rounds) its uncertainty. Nothing deployed: it fits when the whole interval is within the budget,
 * misfits when the whole interval is over it, and the median decides an interval that straddles
 * it. Against what is deployed (hysteresis), with `margin` the share `profiling.margin`:
 * - a path that serves keeps serving while its p95 is within the budget plus the margin, and
 *   stops as soon as the p95 is beyond that, however much the rounds disagree: no target is
 *   ever placed on a path whose estimate is over budget by more than the margin;
 * - a path that does not serve starts only when the whole interval is under the budget by the
 *   margin (at most budget ÷ (1 + margin)).
 * So a placement changes only on a move across the band around the budget, not on noise in it.
 */
function latencyVerdict(
  point: number,
  estimate: P95Estimate | undefined,
  offsetMs: number,
  budget: number,
  deployedFits: boolean | undefined,
  margin: number,
): Verdict {
  const [low, high] = estimate ? [estimate.lowMs + offsetMs, estimate.highMs + offsetMs] : [point, point];
  const disagree = estimate && !estimate.stable ? `, rounds disagree by ${Math.round(estimate.spread * 100)}%` : '';
  const interval = estimate ? ` (${ms(low)}–${ms(high)} over ${estimate.rounds} rounds${disagree})` : '';
  const text = `p95 ${ms(point)}${interval}`;
  if (deployedFits === undefined) {
    if (high <= budget) return { fits: true, text, interval };
    if (low > budget) return { fits: false, text, interval };
    return {
      fits: point <= budget,
      text,
      interval,
      rule: `the interval straddles the ${ms(budget)} budget and nothing is deployed: decided by the median`,
    };
  }
  const share = `${Math.round(margin * 100)}%`;
  if (deployedFits) {
    const ceiling = budget * (1 + margin);
    if (point > ceiling)
      return {
        fits: false,
        text,
        interval,
        rule: `the p95 is over the ${ms(budget)} budget by more than the ${share} margin (${ms(ceiling)}): the deployed placement changes`,
      };
    if (high > budget)
      return {
        fits: true,
        text,
        interval,
        rule: `the p95 is within the ${ms(budget)} budget plus the ${share} margin (${ms(ceiling)}): the deployed placement stays (hysteresis)`,
      };
    return { fits: true, text, interval };
  }
  const floor = budget / (1 + margin);
  if (high <= floor)
    return {
      fits: true,
      text,
      interval,
      rule: `the whole interval is under the ${ms(budget)} budget by the ${share} margin (${ms(floor)}): the deployed placement changes`,
    };
  if (low > budget) return { fits: false, text, interval };
  return {
    fits: false,
    text,
    interval,
    rule: `the interval is not under the ${ms(budget)} budget by the ${share} margin (${ms(floor)}): the deployed placement stays (hysteresis)`,
  };
}

const withRule = (reason: string, verdicts: Verdict[]) => {
  const rules = verdicts.flatMap((verdict) => (verdict.rule ? [verdict.rule] : []));
  return rules.length > 0 ? `${reason}; ${rules.join('; ')}` : reason;
};
const mb = (value: number) => `${value.toFixed(1)} MiB`;

/**
 * Decides where the model runs for each target:
 * 1. a cloud target serves when its own p95 fits its budget, else it is blocked;
 * 2. an edge site runs the model when its peak memory fits the site's budget and its p95 on the
 *    site's hardware profile fits the site's latency budget (adaptive when the site asks and
 *    offloading fits too);
 * 3. otherwise it offloads to its cloud target when that target serves and the cloud p95 plus
 *    the site's RTT fits;
 * 4. otherwise blocked.
 * Against what is deployed, each path keeps by the margin (see latencyVerdict).
 */
export function planPlacement(
  config: EdgeshipConfig,
  /** A result for each of profilingNeeds(config). */
  results: readonly ProfileResult[],
  live: ReadonlyMap<string, LiveCapacity> = new Map(),
  /** What each target runs now (the release record): an uncertain measurement keeps it. */
  deployed: Readonly<Record<string, PlacementChoice>> = {},
): PlacementDecision[] {
  const margin = config.profiling.margin;
  const clouds = new Map(
    config.targets
      .filter((target) => target.kind === 'cloud')
      .map((target) => [
        target.name,
        {
          target,
          decision: placeCloud(
            target,
            resultFor(results, target.profile, batchOf(config, target), target.name),
            deployed[target.name],
            margin,
          ),
        },
      ]),
  );
  return config.targets.map((target) => {
    const own = clouds.get(target.name);
    if (own) return own.decision;
    const result = resultFor(results, target.profile, batchOf(config, target), target.name);
    const cloud = target.offloadTo ? clouds.get(target.offloadTo) : clouds.values().next().value;
    return placeEdge(target, result, cloud, results, live.get(target.name), deployed[target.name], margin);
  });
}

function resultFor(results: readonly ProfileResult[], profile: string, batch: number, target: string): ProfileResult {
  const result = results.find((candidate) => candidate.profile === profile && candidate.batch === batch);
  if (!result) throw new Error(`No profile result for "${profile}" at batch ${batch} (target ${target})`);
  return result;
}

const p95Of = (result: ProfileResult) => result.p95?.p95Ms ?? result.estimated.p95Ms;

function placeCloud(
  target: Target,
  result: ProfileResult,
  deployed: PlacementChoice | undefined,
  margin: number,
): PlacementDecision {
  const p95 = p95Of(result);
  const base = {
    target: target.name,
    kind: target.kind,
    profile: target.profile,
    batch: result.batch,
    p95Ms: p95,
    latencyBudgetMs: target.latencyBudgetMs,
    memoryMb: result.peakMemoryMb,
  };
  // Hysteresis holds a serving placement; a blocked one is left as soon as the plain rule allows.
  const verdict = latencyVerdict(
    p95,
    result.p95,
    0,
    target.latencyBudgetMs,
    deployed === 'cloud' ? true : undefined,
    margin,
  );
  if (verdict.fits)
    return {
      ...base,
      choice: 'cloud',
      reason: withRule(`${verdict.text} on ${target.profile} fits the ${ms(target.latencyBudgetMs)} budget`, [verdict]),
    };
  return {
    ...base,
    choice: 'blocked',
    reason: withRule(`${verdict.text} on ${target.profile} exceeds the ${ms(target.latencyBudgetMs)} budget`, [
      verdict,
    ]),
  };
}

/** What offloading a site to its cloud target would give, or why it cannot. */
type Remote =
  { cloud: string; verdict: Verdict; p95Ms: number; text: string } | { cloud?: string; unavailable: string };

function remoteOf(
  target: Target,
  batch: number,
  cloud: { target: Target; decision: PlacementDecision } | undefined,
  results: readonly ProfileResult[],
  keeps: boolean | undefined,
  margin: number,
): Remote {
  if (!cloud) return { unavailable: 'there is no cloud target to offload to' };
  // A cloud target that does not serve is no destination, whatever its numbers at the site's batch.
  if (cloud.decision.choice === 'blocked')
    return {
      cloud: cloud.target.name,
      unavailable: `the cloud target ${cloud.target.name} it would offload to is blocked itself`,
    };
  // The site's requests reach the cloud as they are: the cloud's latency at the site's batch.
  const result = resultFor(results, cloud.target.profile, batch, target.name);
  const p95Ms = p95Of(result) + target.rttMs;
  const verdict = latencyVerdict(p95Ms, result.p95, target.rttMs, target.latencyBudgetMs, keeps, margin);
  return {
    cloud: cloud.target.name,
    verdict,
    p95Ms,
    text: `cloud p95 ${ms(p95Of(result))} + RTT ${ms(target.rttMs)} = ${verdict.text.replace(/^p95 /, '')}`,
  };
}

function placeEdge(
  target: Target,
  result: ProfileResult,
  cloud: { target: Target; decision: PlacementDecision } | undefined,
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
  if (live?.source === 'cluster' && !live.arches.includes(EDGE_ARCH))
    misfits.push(`the cluster has no ${EDGE_ARCH} node (found ${live.arches.join(', ') || 'no ready nodes'})`);
  if (result.peakMemoryMb > memoryBudget)
    misfits.push(`the model needs ${mb(result.peakMemoryMb)}, over the ${budgetText}`);
  else if (result.peakMemoryMb > result.memoryCeilingMb) {
    misfits.push(
      `the model needs ${mb(result.peakMemoryMb)}, over the ${mb(result.memoryCeilingMb)} a ${target.profile} has for it`,
    );
  }
  const remote = remoteOf(
    target,
    result.batch,
    cloud,
    results,
    deployed === 'offload' || deployed === 'adaptive' ? true : undefined,
    margin,
  );
  const away = 'verdict' in remote ? remote.verdict : undefined;
  // Between edge and offload, either way only by the margin; from blocked, or from an offload
  // that no longer serves, by the plain rule.
  const keepsLocal =
    deployed === 'edge' || deployed === 'adaptive' ? true : deployed === 'offload' && away?.fits ? false : undefined;
  const local = latencyVerdict(p95, result.p95, 0, target.latencyBudgetMs, keepsLocal, margin);
  if (!local.fits)
    misfits.push(
      `the model's ${local.text} on ${target.profile} ${p95 > target.latencyBudgetMs ? 'exceeds' : 'is not under'} the ${ms(target.latencyBudgetMs)} budget${p95 > target.latencyBudgetMs ? '' : ' by the margin'}`,
    );
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
  if (misfits.length === 0) {
    const fits = `fits on ${target.profile}: ${local.text} ${p95 <= target.latencyBudgetMs ? '≤' : 'against'} ${ms(target.latencyBudgetMs)}, ${mb(result.peakMemoryMb)} ≤ ${mb(memoryBudget)}`;
    // Both paths fit: an adaptive target runs the model and decides per request which answers in time.
    if (target.adaptive && 'verdict' in remote && remote.verdict.fits) {
      return {
        ...base,
        choice: 'adaptive',
        p95Ms: p95,
        offloadTo: remote.cloud,
        reason: withRule(`${fits}; ${remote.text} fits too: the site decides per request (adaptive)`, [
          local,
          remote.verdict,
        ]),
      };
    }
    return { ...base, choice: 'edge', p95Ms: p95, reason: withRule(fits, [local]) };
  }
  const here = `at ${target.name}, ${misfits.join(' and ')}`;
  const sign = (value: number) => (value <= target.latencyBudgetMs ? '≤' : 'against');
  if (!('verdict' in remote))
    return { ...base, choice: 'blocked', p95Ms: p95, reason: withRule(`${here}, and ${remote.unavailable}`, [local]) };
  if (remote.verdict.fits) {
    return {
      ...base,
      choice: 'offload',
      p95Ms: remote.p95Ms,
      offloadTo: remote.cloud,
      reason: withRule(`${here}; offloading fits: ${remote.text} ${sign(remote.p95Ms)} ${ms(target.latencyBudgetMs)}`, [
        local,
        remote.verdict,
      ]),
    };
  }
  return {
    ...base,
    choice: 'blocked',
    p95Ms: p95,
    reason: withRule(
      `${here}; offloading does not fit either: ${remote.text} exceeds the ${ms(target.latencyBudgetMs)} budget`,
      [local, remote.verdict],
    ),
  };
}

function capacityText(live: LiveCapacity): string {
  if (live.source === 'inventory') return `inventory (${live.reason})`;
  const accelerators = live.accelerators.length > 0 ? `, ${live.accelerators.join(', ')}` : '';
  return `cluster: ${live.nodes} node${live.nodes === 1 ? '' : 's'}, ${mb(live.freeMemoryMb)} free on the roomiest, ${live.arches.join('/')}${accelerators}`;
}
