import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';

/** Models up to this size may get a second session on the main thread (it doubles their memory). */
export const INLINE_MAX_BYTES = 16 * 2 ** 20;
/** A batch runs on the main thread only when runs of its size took at most this long. */
export const INLINE_MAX_MS = 0.1;

/** Runs of each size the estimate looks back on. */
const WINDOW = 15;

/**
 * Run times by batch rows: the median of the last runs of that size on either path, so a cold
 * first run or a preempted one does not decide. A size that has not run yet has no estimate: it
 * never runs on the main thread before the inference thread measured it.
 */
export class RunCosts {
  private readonly recent = new Map<number, { samples: number[]; runs: number; median: number }>();

  constructor(private readonly maxMs = INLINE_MAX_MS) {}

  record(rows: number, ms: number): void {
    let size = this.recent.get(rows);
    if (!size) this.recent.set(rows, (size = { samples: [], runs: 0, median: ms }));
    size.samples.push(ms);
    if (size.samples.length > WINDOW) size.samples.shift();
    // The median moves slowly: worked out again every few runs, not on each.
    if (size.runs++ % 4 === 0) size.median = [...size.samples].sort((a, b) => a - b)[Math.floor(size.samples.length / 2)] as number;
  }

  /** Whether runs of `rows` rows are cheap enough to block the event loop for. */
  cheap(rows: number): boolean {
    const size = this.recent.get(rows);
    return size !== undefined && size.median <= this.maxMs;
  }
}

/**
 * A second session of a small model on the main thread, for the batches that take less time to
 * run than to hand to the inference thread and back: on a 2-core machine the hop costs ~25 µs of
 * CPU a request (~50 µs of latency when the thread sleeps), and a 24-unit GRU runs one in ~45 µs.
 * Blocking the event loop for about 0.1 ms at a time keeps health checks fast. One intra-op thread, one
 * run at a time.
 */
export class InlineSession {
  busy = false;

  private constructor(private readonly session: ort.InferenceSession) {}

  /** A session when the model is small enough to load twice, else undefined. */
  static async open(file: string): Promise<InlineSession | undefined> {
    if ((await stat(file)).size > INLINE_MAX_BYTES) return undefined;
    return new InlineSession(await ort.InferenceSession.create(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' }));
  }

  run(inputs: readonly CheckedTensor[], outputs: string[] | undefined, costs: RunCosts, rows: number): Promise<OutputTensor[]> {
    this.busy = true;
    const feeds = Object.fromEntries(inputs.map((input) => [input.name, new ort.Tensor(input.dtype as 'float32', input.data as Float32Array, input.dims)]));
    // onnxruntime-node runs a session in a setImmediate callback: the time starts in the one
    // queued just before it, so a busy event loop's wait does not count as the model's.
    let started = performance.now();
    setImmediate(() => (started = performance.now()));
    return (outputs ? this.session.run(feeds, outputs) : this.session.run(feeds)).then(
      (results) => {
        this.busy = false;
        costs.record(rows, performance.now() - started);
        return Object.entries(results).map(([name, tensor]) => ({ name, dtype: tensor.type, dims: tensor.dims, data: tensor.data }));
      },
      (error: unknown) => {
        this.busy = false;
        throw error;
      },
    );
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
