/**
 * Child process that profiles one model under one hardware profile. A process of its own keeps
 * the caller's event loop free and makes peak memory the model's alone: the resident set after
 * loading ONNX Runtime is the baseline, the process's max RSS at the end is the peak.
 */
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { specsOf, syntheticTensor } from './tensors.ts';

/** Shortest warm-up, whatever the configured count. */
const MIN_WARMUP_MS = 250;

export interface ProfileJob {
  file: string;
  threads: number;
  runs: number;
  warmup: number;
  batch: number;
  /** The runs are measured in this many rounds, one after another. */
  rounds: number;
}

export interface ProfileMeasurement {
  sessionCreateMs: number;
  firstInferenceMs: number;
  latenciesMs: number[];
  /** The latencies by round. */
  rounds: number[][];
  baselineRssBytes: number;
  peakRssBytes: number;
}

/** Session options shared with the benchmark's bare loop, so both measure the same thing. */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
}

export async function measure(job: ProfileJob): Promise<ProfileMeasurement> {
  const baselineRssBytes = process.memoryUsage.rss();
  const created = performance.now();
  const session = await ort.InferenceSession.create(job.file, sessionOptions(job.threads));
  const sessionCreateMs = performance.now() - created;
  const feeds = Object.fromEntries(specsOf(session.inputMetadata).map((spec, index) => [spec.name, syntheticTensor(spec, job.batch, index + 1)]));
  const first = performance.now();
  await session.run(feeds);
  const firstInferenceMs = performance.now() - first;
  // A fresh process runs its JavaScript cold: warm up for a minimum time as well as a count,
  // so sub-millisecond models are not measured with the JIT still compiling the loop.
  const warmUntil = performance.now() + MIN_WARMUP_MS;
  for (let index = 0; index < job.warmup || performance.now() < warmUntil; index += 1) await session.run(feeds);
  const latenciesMs = new Array<number>(job.runs);
  for (let index = 0; index < job.runs; index += 1) {
    const start = performance.now();
    await session.run(feeds);
    latenciesMs[index] = performance.now() - start;
  }
  await session.release();
  const size = Math.ceil(job.runs / Math.max(1, job.rounds));
  const rounds = Array.from({ length: Math.ceil(job.runs / size) }, (_, round) => latenciesMs.slice(round * size, (round + 1) * size));
  return { sessionCreateMs, firstInferenceMs, latenciesMs, rounds, baselineRssBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

if (process.send) {
  process.once('message', (job: ProfileJob) => {
    measure(job).then(
      (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
      (error: unknown) => process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () => process.exit(1)),
    );
  });
}
