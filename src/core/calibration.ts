import { z } from 'zod';
import { finite } from './formats.ts';
import { median } from './stats.ts';

/**
 * How the profiler takes the host's load out of its numbers: beside each round of a model's runs
 * it times a fixed reference workload (in the same process, with the same threads), and scales
 * the round by how much slower or faster the reference ran than on the nominal host. A host that
 * is twice as slow for a minute then gives the same device estimate; the speed factors of the
 * hardware profiles are device time ÷ nominal host time.
 */
export const calibrationSchema = z.object({
  /** One reference run on the nominal host, at the profile's threads. */
  nominalRunMs: finite,
  /** One reference run on this host: the median over the rounds. */
  hostRunMs: finite,
  /** (slowest − fastest round's reference) ÷ hostRunMs. */
  spread: finite,
  /** Whether the reference held within the tolerance across rounds (the load changed slower than a round). */
  stable: z.boolean(),
});
export type Calibration = z.infer<typeof calibrationSchema>;

/**
 * One run of the reference workload (adapters/onnx/reference-model.ts) on the nominal host, a
 * 2-vCPU x86-64 VM, quiet, by ONNX Runtime intra-op threads that do not spin (the profiler's
 * session options). The reference is too small to gain from a third thread, so more threads count
 * as two. Two threads take 1.29× one thread's time (measured: 0.113–0.117 ms against 0.089–0.090).
 */
const NOMINAL_RUN_MS: Readonly<Record<number, number>> = { 1: 0.145, 2: 0.187 };

export const nominalReferenceRunMs = (threads: number) =>
  NOMINAL_RUN_MS[Math.min(2, Math.max(1, Math.round(threads)))] as number;

/** Each round's latencies scaled to the nominal host by the reference measured beside it. */
export function calibrate(
  rounds: readonly (readonly number[])[],
  referenceRunMs: readonly number[],
  nominalRunMs: number,
  tolerance: number,
): { rounds: number[][]; calibration: Calibration } {
  if (referenceRunMs.length !== rounds.length || referenceRunMs.some((value) => !(value > 0)))
    throw new RangeError(
      `calibration needs one positive reference time per round, found ${referenceRunMs.length} for ${rounds.length} rounds`,
    );
  const hostRunMs = median(referenceRunMs);
  const spread = (Math.max(...referenceRunMs) - Math.min(...referenceRunMs)) / hostRunMs;
  return {
    rounds: rounds.map((round, index) =>
      round.map((latency) => (latency * nominalRunMs) / (referenceRunMs[index] as number)),
    ),
    calibration: { nominalRunMs, hostRunMs, spread, stable: spread <= tolerance },
  };
}
