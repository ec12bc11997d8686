import type { EdgeshipConfig, Target } from './config.ts';
import type { ProfileResult } from './profiling.ts';

export type PlacementChoice = 'edge' | 'offload' | 'cloud' | 'blocked';

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
const mb = (value: number) => `${value.toFixed(1)} MiB`;

/**
 * Decides where the model runs for each target:
 * 1. edge when the model's peak memory fits the site's budget and its p95 on the site's
 *    hardware profile fits the site's latency budget;
 * 2. otherwise offload to the cloud when the cloud p95 plus the site's RTT fits;
 * 3. otherwise blocked. Cloud targets serve when their own p95 fits.
 */
export function planPlacement(config: EdgeshipConfig, results: ReadonlyMap<string, ProfileResult>, live: ReadonlyMap<string, LiveCapacity> = new Map()): PlacementDecision[] {
  const clouds = config.targets.filter((target) => target.kind === 'cloud');
  return config.targets.map((target) => {
    const result = results.get(target.profile);
    if (!result) throw new Error(`No profile result for "${target.profile}" (target ${target.name})`);
    return target.kind === 'cloud' ? placeCloud(target, result) : placeEdge(target, result, clouds, results, live.get(target.name));
  });
}

function placeCloud(target: Target, result: ProfileResult): PlacementDecision {
  const p95 = result.estimated.p95Ms;
  const base = { target: target.name, kind: target.kind, p95Ms: p95, latencyBudgetMs: target.latencyBudgetMs, memoryMb: result.peakMemoryMb };
  if (p95 <= target.latencyBudgetMs) {
    return { ...base, choice: 'cloud', reason: `p95 ${ms(p95)} on ${target.profile} fits the ${ms(target.latencyBudgetMs)} budget` };
  }
  return { ...base, choice: 'blocked', reason: `p95 ${ms(p95)} on ${target.profile} exceeds the ${ms(target.latencyBudgetMs)} budget` };
}

function placeEdge(
  target: Target,
  result: ProfileResult,
  clouds: Target[],
  results: ReadonlyMap<string, ProfileResult>,
  live: LiveCapacity | undefined,
): PlacementDecision {
  const p95 = result.estimated.p95Ms;
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
  if (p95 > target.latencyBudgetMs) misfits.push(`p95 ${ms(p95)} on ${target.profile} exceeds the ${ms(target.latencyBudgetMs)} budget`);
  const base = {
    target: target.name,
    kind: target.kind,
    latencyBudgetMs: target.latencyBudgetMs,
    memoryMb: result.peakMemoryMb,
    ...(Number.isFinite(memoryBudget) && { memoryBudgetMb: Number(memoryBudget.toFixed(1)) }),
    ...(live && { capacity: capacityText(live) }),
  };
  if (misfits.length === 0) {
    return {
      ...base,
      choice: 'edge',
      p95Ms: p95,
      reason: `fits on ${target.profile}: p95 ${ms(p95)} ≤ ${ms(target.latencyBudgetMs)}, ${mb(result.peakMemoryMb)} ≤ ${mb(memoryBudget)}`,
    };
  }
  const cloud = target.offloadTo ? clouds.find((candidate) => candidate.name === target.offloadTo) : clouds[0];
  const cloudResult = cloud ? results.get(cloud.profile) : undefined;
  if (!cloud || !cloudResult) {
    return { ...base, choice: 'blocked', p95Ms: p95, reason: `${misfits.join('; ')}, and there is no cloud target to offload to` };
  }
  const remote = cloudResult.estimated.p95Ms + target.rttMs;
  const remoteText = `cloud p95 ${ms(cloudResult.estimated.p95Ms)} + RTT ${ms(target.rttMs)} = ${ms(remote)}`;
  if (remote <= target.latencyBudgetMs) {
    return { ...base, choice: 'offload', p95Ms: remote, offloadTo: cloud.name, reason: `on the edge it ${misfits.join(' and ')}; ${remoteText} fits` };
  }
  return { ...base, choice: 'blocked', p95Ms: p95, reason: `on the edge it ${misfits.join(' and ')}; offloading does not fit either (${remoteText})` };
}

function capacityText(live: LiveCapacity): string {
  if (live.source === 'inventory') return `inventory (${live.reason})`;
  const accelerators = live.accelerators.length > 0 ? `, ${live.accelerators.join(', ')}` : '';
  return `cluster: ${live.nodes} node${live.nodes === 1 ? '' : 's'}, ${mb(live.freeMemoryMb)} free on the roomiest, ${live.arches.join('/')}${accelerators}`;
}
