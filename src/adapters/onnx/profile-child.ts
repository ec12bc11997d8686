/**
 * Child process that profiles one model under one hardware profile. A process of its own keeps
 * the caller's event loop free and makes peak memory the model's alone: the resident set after
 * loading ONNX Runtime is the baseline, the process's max RSS at the end is the peak.
 */
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { median } from '../../core/stats.ts';
import { REFERENCE, referenceInput, referenceModel } from './reference-model.ts';
import { specsOf, syntheticTensor } from './tensors.ts';

/** Shortest warm-up, whatever the configured count. */
const MIN_WARMUP_MS = 250;
/**
 * Blocks of the reference workload measured just before and just after each round's model runs,
 * each block as many back-to-back runs as take about as long as one run of the model, so that
 * what stalls a run of the model (a preempted thread, a busy core) stalls a block as often.
 */
const REFERENCE_BLOCKS = 8;

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
  /**
   * The reference workload, measured beside each round: its fastest block, divided by the runs in
   * a block. Like the model's runs (bounded by the fastest twentieth of them, see core/stats.ts
   * HOST_NOISE_BOUND), it is read from the runs the host did not stall.
   */
  reference: { runsPerBlock: number; runMsByRound: number[] };
  baselineRssBytes: number;
  peakRssBytes: number;
}

/**
 * Session options shared with the benchmark's bare loop, so both measure the same thing. The
 * intra-op threads do not spin between runs: an emulated device has its threads to itself, and
 * on a 2-vCPU host a spinning pool thread competes with the run it waits for, which put a 4–5 ms
 * stall into every 20th run of a 0.4 ms model (p95 4.7 ms spinning, 0.45 ms not).
 */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

export async function measure(job: ProfileJob): Promise<ProfileMeasurement> {
  // The reference session exists before the baseline, so its memory is not counted as the model's.
  const reference = await ort.InferenceSession.create(referenceModel(), sessionOptions(job.threads));
  const referenceFeeds = { x: new ort.Tensor('float32', referenceInput(), [REFERENCE.rows, REFERENCE.width]) };
  const referenceRun = await timed(reference, referenceFeeds, MIN_WARMUP_MS / 2);
  const baselineRssBytes = process.memoryUsage.rss();
  const created = performance.now();
  const session = await ort.InferenceSession.create(job.file, sessionOptions(job.threads));
  const sessionCreateMs = performance.now() - created;
  const feeds = Object.fromEntries(
    specsOf(session.inputMetadata).map((spec, index) => [spec.name, syntheticTensor(spec, job.batch, index + 1)]),
  );
  const first = performance.now();
  await session.run(feeds);
  const firstInferenceMs = performance.now() - first;
  // A fresh process runs its JavaScript cold: warm up for a minimum time as well as a count,
  // so sub-millisecond models are not measured with the JIT still compiling the loop.
  const modelRun = await timed(session, feeds, MIN_WARMUP_MS, job.warmup);
  const runsPerBlock = Math.max(1, Math.round(modelRun / referenceRun));
  const size = Math.ceil(job.runs / Math.max(1, job.rounds));
  const latenciesMs: number[] = [];
  const rounds: number[][] = [];
  const runMsByRound: number[] = [];
  while (latenciesMs.length < job.runs) {
    const blocks = await referenceBlocks(reference, referenceFeeds, runsPerBlock);
    const round: number[] = [];
    for (let index = 0; index < size && latenciesMs.length < job.runs; index += 1) {
      const start = performance.now();
      await session.run(feeds);
      round.push(performance.now() - start);
      latenciesMs.push(round[round.length - 1] as number);
    }
    blocks.push(...(await referenceBlocks(reference, referenceFeeds, runsPerBlock)));
    rounds.push(round);
    runMsByRound.push(Math.min(...blocks));
  }
  await session.release();
  await reference.release();
  return {
    sessionCreateMs,
    firstInferenceMs,
    latenciesMs,
    rounds,
    reference: { runsPerBlock, runMsByRound },
    baselineRssBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

/** Runs a session for at least `minMs` and `count` runs; the median of the last half of them. */
async function timed(
  session: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  minMs: number,
  count = 0,
): Promise<number> {
  const times: number[] = [];
  const until = performance.now() + minMs;
  while (times.length < count || performance.now() < until) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  return median(times.slice(Math.floor(times.length / 2)));
}

/** The time of one reference run in each of REFERENCE_BLOCKS blocks of `runs` runs. */
async function referenceBlocks(
  reference: ort.InferenceSession,
  feeds: Record<string, ort.Tensor>,
  runs: number,
): Promise<number[]> {
  const blocks: number[] = [];
  for (let block = 0; block < REFERENCE_BLOCKS; block += 1) {
    const start = performance.now();
    for (let run = 0; run < runs; run += 1) await reference.run(feeds);
    blocks.push((performance.now() - start) / runs);
  }
  return blocks;
}

if (process.send) {
  process.once('message', (job: ProfileJob) => {
    measure(job).then(
      (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
      (error: unknown) =>
        process.send?.({ ok: false, error: error instanceof Error ? error.message : String(error) }, () =>
          process.exit(1),
        ),
    );
  });
}
