import { z } from 'zod';
import { finite } from './formats.ts';

/** Percentile by linear interpolation between closest ranks; `sorted` must be ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of an empty list');
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lower = sorted[low] as number;
  return lower + ((sorted[high] as number) - lower) * (rank - low);
}

/** The median of values in any order. */
export const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export const latencySummarySchema = z.object({
  runs: z.number().int().nonnegative(),
  meanMs: finite,
  p50Ms: finite,
  p95Ms: finite,
  p99Ms: finite,
  maxMs: finite,
});
export type LatencySummary = z.infer<typeof latencySummarySchema>;

export function summarize(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    runs: sorted.length,
    meanMs: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] as number,
  };
}

export function scaleSummary(summary: LatencySummary, factor: number): LatencySummary {
  return {
    runs: summary.runs,
    meanMs: summary.meanMs * factor,
    p50Ms: summary.p50Ms * factor,
    p95Ms: summary.p95Ms * factor,
    p99Ms: summary.p99Ms * factor,
    maxMs: summary.maxMs * factor,
  };
}

/**
 * The p95 a profile reports, from rounds of runs: the median of the rounds' p95s, with the
 * lowest and highest as its interval (with 5 rounds, the median of the rounds' distribution lies
 * inside it with 94% confidence, whatever that distribution is) and their spread relative to it.
 * One burst of load moves one round, not the estimate.
 */
export const p95EstimateSchema = z.object({
  p95Ms: finite,
  lowMs: finite,
  highMs: finite,
  rounds: z.number().int().positive(),
  /** (highest − lowest) ÷ estimate. */
  spread: finite,
  /** Whether the spread is within the tolerance the rounds were measured with. */
  stable: z.boolean(),
  /** Whether the rounds disagreed once and were measured again. */
  remeasured: z.boolean().optional(),
  /** Share of the runs the host stalled (over HOST_NOISE_BOUND × the fastest twentieth of the runs), held at that bound. */
  stalledShare: finite.optional(),
});
export type P95Estimate = z.infer<typeof p95EstimateSchema>;

/** Confidence that the median lies between the lowest and highest of `rounds` values. */
export const intervalConfidence = (rounds: number) => 1 - 2 * 0.5 ** rounds;

/**
 * How far over the fastest twentieth of its runs an emulated run may take before it counts as
 * the host stalling it (a preempted thread, another process on the core) rather than the model's
 * time. The profiler feeds the same synthetic input every run, so the model's own work does not
 * vary: on a quiet 2-vCPU host the p95 of the example models is 1.03–1.2× their p5, while under
 * `stress-ng --cpu 2` it is 8–50× and whole rounds stall (40–89% of the runs).
 */
export const HOST_NOISE_BOUND = 1.25;

/**
 * The p95 of rounds of runs: the median of the rounds' p95s, with their range. With `noiseBound`
 * (emulated profiles), a run over `noiseBound` × the p5 of all runs is the host's stall and is
 * held at that bound, so a busy host gives the model's p95, not its own; the share held is returned.
 */
export function estimateP95(
  rounds: readonly (readonly number[])[],
  tolerance: number,
  noiseBound?: number,
): P95Estimate {
  if (rounds.length === 0 || rounds.some((round) => round.length === 0))
    throw new RangeError('an estimate needs rounds of samples');
  // The fastest twentieth of all runs: what the model takes when the host stalls none of it.
  const bound =
    noiseBound === undefined
      ? Infinity
      : percentile(
          rounds.flat().sort((a, b) => a - b),
          5,
        ) * noiseBound;
  let stalled = 0;
  const p95s = rounds
    .map((round) => {
      stalled += round.filter((latency) => latency > bound).length;
      return Math.min(
        percentile(
          [...round].sort((a, b) => a - b),
          95,
        ),
        bound,
      );
    })
    .sort((a, b) => a - b);
  const p95Ms = percentile(p95s, 50);
  const lowMs = p95s[0] as number;
  const highMs = p95s[p95s.length - 1] as number;
  const spread = p95Ms > 0 ? (highMs - lowMs) / p95Ms : 0;
  const runs = rounds.reduce((sum, round) => sum + round.length, 0);
  return {
    p95Ms,
    lowMs,
    highMs,
    rounds: rounds.length,
    spread,
    stable: spread <= tolerance,
    ...(noiseBound !== undefined && { stalledShare: stalled / runs }),
  };
}

export const scaleEstimate = (estimate: P95Estimate, factor: number): P95Estimate => ({
  ...estimate,
  p95Ms: estimate.p95Ms * factor,
  lowMs: estimate.lowMs * factor,
  highMs: estimate.highMs * factor,
});
