import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';

/** Models up to this size may get a second session on the main thread (it doubles their memory). */
export const INLINE_MAX_BYTES = 16 * 2 ** 20;
/** A batch runs on the main thread only when runs of its size take at most this long. */
export const INLINE_MAX_MS = 0.1;

/**
 * How long a run may block the event loop when nothing else waits for it: as long as a flush of
 * cheap batches may (inference-pool's FLUSH_MS). One client at a time, GRU 24×1 at batch 1
 * (~0.1 ms a run): 1,195 req/s through the thread, 2,155 run here.
 */
export const IDLE_INLINE_MAX_MS = 1;

/** Runs of each size the estimate looks back on. */
const WINDOW = 15;
/** Runs of a size before its own median counts: a first run is cold (ONNX Runtime allocates for a new shape). */
const SETTLED = 3;
/** How much more a row may cost in a larger batch before the batch stops growing. */
const MERGE_TOLERANCE = 0.05;
/** A size a batch would not grow to is tried again once this many runs went by without it. */
const RETRY_EVERY = 50;

/**
 * Run times by batch rows: the median of the last runs of each size on either path, so a cold
 * or a preempted run does not decide. A size whose own runs are too few, or slower than a smaller
 * size implies (a cold start, a run delayed on a busy thread), is judged by the smaller size
 * scaled by the rows: a run costs a fixed part plus a part per row, so t(small) × rows / small is
 * an upper bound. With nothing measured, no size is cheap: the inference thread measures first.
 */
export class RunCosts {
  private readonly recent = new Map<number, { samples: number[]; runs: number; median: number; last: number }>();
  /** Runs recorded, of every size. */
  private runs = 0;

  constructor(private readonly maxMs = INLINE_MAX_MS) {}

  record(rows: number, ms: number): void {
    this.runs += 1;
    let size = this.recent.get(rows);
    if (!size) this.recent.set(rows, (size = { samples: [], runs: 0, median: ms, last: 0 }));
    size.last = this.runs;
    size.samples.push(ms);
    if (size.samples.length > WINDOW) size.samples.shift();
    // The median moves slowly: worked out again every few runs, not on each.
    if (size.runs++ % 4 === 0 || size.runs === SETTLED || size.runs === WINDOW)
      size.median = [...size.samples].sort((a, b) => a - b)[Math.floor(size.samples.length / 2)] as number;
  }

  /** The expected time of a run of `rows` rows, in ms; undefined before anything comparable ran. */
  estimate(rows: number): number | undefined {
    let best: number | undefined;
    for (const [measured, size] of this.recent) {
      if (size.runs < SETTLED || measured > rows) continue;
      const scaled = measured === rows ? size.median : (size.median * rows) / measured;
      if (best === undefined || scaled < best) best = scaled;
    }
    return best;
  }

  /**
   * Whether a batch should grow from `rows` to `next` rows: unless both sizes are measured and
   * the larger costs more per row (beyond MERGE_TOLERANCE). Batching amortises a run's fixed
   * part, but a large recurrent model can get slower per row as its batch outgrows the CPU's
   * caches (GRU 128×2, one thread: 105 µs a row at 32 rows, 117 at 128, 128 at 256).
   */
  grows(rows: number, next: number): boolean {
    const small = this.judged(rows);
    const large = this.judged(next);
    if (small === undefined || large === undefined || large / next <= (small / rows) * (1 + MERGE_TOLERANCE))
      return true;
    // Once other sizes ran RETRY_EVERY times since it last ran, it is tried again, so its figure stays current.
    return this.runs - (this.recent.get(next)?.last ?? 0) >= RETRY_EVERY;
  }

  /** A size's median once a whole window of its runs is in: first runs of a new shape are slow. */
  private judged(rows: number): number | undefined {
    const size = this.recent.get(rows);
    return size && size.samples.length >= WINDOW ? size.median : undefined;
  }

  /**
   * Whether runs of `rows` rows are cheap enough to block the event loop for: under the limit, or
   * under IDLE_INLINE_MAX_MS when `idle` (nothing else waits, and the inference thread is free: a
   * lone client then waits for the hop to the thread and back, which costs more than the run).
   * A limit of 0 never runs anything here.
   */
  cheap(rows: number, idle = false): boolean {
    const expected = this.estimate(rows);
    return (
      expected !== undefined &&
      this.maxMs > 0 &&
      expected <= (idle ? Math.max(this.maxMs, IDLE_INLINE_MAX_MS) : this.maxMs)
    );
  }
}

/** onnxruntime-node's native session, as its own backend drives it (dist/backend.js). */
interface NativeSession {
  loadModel(path: string, options: ort.InferenceSession.SessionOptions): void;
  run(
    feeds: Record<string, ort.Tensor>,
    fetches: Record<string, null>,
    options: ort.InferenceSession.RunOptions,
  ): Record<string, ort.Tensor>;
  dispose(): void;
  readonly outputMetadata: readonly { name: string }[];
}

/** The native binding, when this onnxruntime-node has the one its backend uses; else undefined. */
function nativeSessionClass(): (new () => NativeSession) | undefined {
  try {
    const loaded = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as {
      binding?: { InferenceSession?: new () => NativeSession };
      initOrt?: () => void;
    };
    const Session = loaded.binding?.InferenceSession;
    const methods = Session?.prototype as Partial<NativeSession> | undefined;
    if (
      !Session ||
      typeof loaded.initOrt !== 'function' ||
      typeof methods?.run !== 'function' ||
      typeof methods.loadModel !== 'function'
    )
      return undefined;
    loaded.initOrt();
    return Session;
  } catch {
    return undefined;
  }
}

/**
 * A second session of a small model on the main thread, for the batches that take less time to
 * run than to hand to the inference thread and back (on a 2-core machine the hop costs ~25 µs of
 * CPU, and a 24-unit GRU runs one row in ~40 µs). It runs synchronously, through the native
 * session onnxruntime-node's own backend drives: the public `run` defers every run to a
 * setImmediate, which costs each batch one more turn of the event loop, and a batch cannot take
 * in the requests that arrive before it starts. One intra-op thread.
 */
export class InlineSession {
  private readonly outputNames: string[];

  private constructor(private readonly session: NativeSession) {
    this.outputNames = session.outputMetadata.map((output) => output.name);
  }

  /**
   * A session when the model is small enough to load twice and this onnxruntime-node has the
   * native binding its backend uses; else undefined, and every batch runs on the thread.
   */
  static async open(file: string): Promise<InlineSession | undefined> {
    if ((await stat(file)).size > INLINE_MAX_BYTES) return undefined;
    const Session = nativeSessionClass();
    if (!Session) return undefined;
    const session = new Session();
    session.loadModel(file, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
    return new InlineSession(session);
  }

  /** Runs a batch now, on this thread, and records how long the run took. Throws what ONNX Runtime throws. */
  run(inputs: readonly CheckedTensor[], outputs: string[] | undefined, costs: RunCosts, rows: number): OutputTensor[] {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs)
      feeds[input.name] = new ort.Tensor(input.dtype as 'float32', input.data as Float32Array, input.dims);
    const fetches: Record<string, null> = {};
    for (const name of outputs ?? this.outputNames) fetches[name] = null;
    const started = performance.now();
    const results = this.session.run(feeds, fetches, {});
    costs.record(rows, performance.now() - started);
    return Object.entries(results).map(([name, tensor]) => ({
      name,
      dtype: tensor.type,
      dims: tensor.dims,
      data: tensor.data,
    }));
  }

  release(): void {
    this.session.dispose();
  }
}
