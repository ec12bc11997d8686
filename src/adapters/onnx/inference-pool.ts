import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { threadOf } from '../worker-thread.ts';
import type { ModelContract } from '../../core/contract.ts';
import { messageOf, ModelValidationError } from '../../core/errors.ts';
import type { CheckedTensor, OutputTensor } from '../../core/oip.ts';
import { batchDimension, probeRow, rowsAgree } from './batch-safety.ts';
import { jobOf, mergeInputs, nextBatch, splitOutputs, takeBatch, type Job } from './batching.ts';
import { IDLE_INLINE_MAX_MS, INLINE_MAX_MS, InlineSession, RunCosts } from './inline-session.ts';

type WorkerMessage =
  | { kind: 'ready'; inputs: ModelContract['inputs']; outputs: ModelContract['outputs'] }
  | { kind: 'failed'; message: string }
  | { kind: 'result'; id: number; outputs: OutputTensor[]; ms: number; rows: number }
  | { kind: 'error'; id: number; message: string };

/**
 * Batches the thread holds at once: one running and one waiting, so the thread starts the next
 * run as soon as one ends instead of waiting for the event loop to answer and send again (at
 * batch 32, +20% throughput on a 2-core machine; bench/serving.ts).
 */
const PIPELINE = 2;

/** The longest the main thread runs cheap batches without giving the event loop a turn. */
const FLUSH_MS = IDLE_INLINE_MAX_MS;

const rowsOf = (jobs: readonly Job[]) =>
  jobs.length === 1 ? (jobs[0] as Job).rows : jobs.reduce((sum, job) => sum + job.rows, 0);

/** Settles a job with what `run` returns or throws. */
function settle(job: Job, run: () => OutputTensor[]): void {
  try {
    job.resolve(run());
  } catch (error) {
    job.reject(error as Error);
  }
}

/**
 * A model loaded in a worker thread, so inference never blocks the event loop that answers
 * health checks. `close` waits for the runs in flight before it stops the thread, which is how
 * a new model replaces an old one without dropping requests.
 *
 * A small model also gets a session on the main thread (InlineSession): a batch whose size runs
 * in under 0.1 ms runs there, so a tiny model does not pay more to reach the thread than to run;
 * under 1 ms when it is all that waits and the thread is free (one client at a time).
 */
export class InferenceWorker {
  private nextId = 1;
  private readonly queue: Job[] = [];
  /** Batches sent to the thread and not yet answered: at most PIPELINE. */
  private sent = 0;
  /** Runs of the model so far: fewer than requests when requests were batched. */
  runs = 0;
  /** Whether requests share runs (rows a batch may hold, 0 when not) and why, from the check at load. */
  batching: { rows: number; why: string } = { rows: 0, why: 'not checked yet' };
  /** Of those, the runs on the main thread. */
  inlineRuns = 0;
  private readonly pending = new Map<
    number,
    { resolve: (outputs: OutputTensor[]) => void; reject: (error: Error) => void }
  >();
  /** When each request now waiting or running came in (performance.now()), in order. */
  private readonly arrivals = new Map<Job, number>();
  private drained: (() => void) | undefined;
  /** A flush of cheap batches is queued (setImmediate). */
  private flushing = false;
  /** A batch grows while a row costs no more in the larger batch, as measured. */
  private readonly grows = (rows: number, next: number) => this.costs.grows(rows, next);

  private constructor(
    private readonly worker: Worker,
    readonly contract: Pick<ModelContract, 'inputs' | 'outputs'>,
    /** Rows a dynamic batch may hold; 0 while unproven, or when requests must run alone. */
    private maxBatchRows: number,
    private readonly inline: InlineSession | undefined,
    private readonly costs: RunCosts,
  ) {
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind !== 'result' && message.kind !== 'error') return;
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.kind === 'error') return pending?.reject(new Error(message.message));
      this.costs.record(message.rows, message.ms);
      pending?.resolve(message.outputs);
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', () => this.failAll(new Error('the inference thread stopped')));
  }

  /**
   * Loads the model in a new thread; a file ONNX Runtime cannot load fails here, naming it.
   * `inlineMaxMs`: how fast a batch size must have run to run on the main thread (0: never).
   */
  static async open(
    file: string,
    options: { threads?: number; maxBatchRows?: number; inlineMaxMs?: number } = {},
  ): Promise<InferenceWorker> {
    const worker = threadOf(new URL('./inference-worker', import.meta.url), { file, threads: options.threads });
    const [message] = (await once(worker, 'message')) as [WorkerMessage];
    if (message.kind !== 'ready') {
      await worker.terminate();
      throw new ModelValidationError(
        `${file}: ONNX Runtime cannot load it: ${message.kind === 'failed' ? message.message : 'no answer'}`,
      );
    }
    const inlineMaxMs = options.inlineMaxMs ?? INLINE_MAX_MS;
    const inline = inlineMaxMs > 0 ? await InlineSession.open(file) : undefined;
    const pool = new InferenceWorker(
      worker,
      { inputs: message.inputs, outputs: message.outputs },
      0,
      inline,
      new RunCosts(inlineMaxMs),
    );
    const maxRows = options.maxBatchRows ?? 256;
    pool.batching =
      maxRows === 0
        ? {
            rows: 0,
            why: "batching is off (--max-batch-rows 0, or EDGESHIP_MAX_BATCH_ROWS=0 from the config's serving.batching: false)",
          }
        : await pool.batchingProof(maxRows);
    pool.maxBatchRows = pool.batching.rows;
    return pool;
  }

  /**
   * Whether requests may share runs of this model, proven at load: every input and output leads
   * with the same batch dimension, and a merged run of two distinct rows answers each row as its
   * run alone does. Otherwise each request runs on its own, and `batching.why` says why.
   */
  private async batchingProof(maxRows: number): Promise<InferenceWorker['batching']> {
    const dimension = batchDimension(this.contract.inputs, this.contract.outputs);
    if ('refused' in dimension) return { rows: 0, why: dimension.refused };
    const rows = [1, 2].map((seed) => this.contract.inputs.map((spec) => probeRow(spec, seed)));
    if (rows.some((row) => row.some((tensor) => tensor === undefined)))
      return { rows: 0, why: 'an input of a type the check cannot make rows of' };
    const [a, b] = rows as CheckedTensor[][] as [CheckedTensor[], CheckedTensor[]];
    const jobs = [a, b].map((inputs) =>
      jobOf(
        inputs,
        undefined,
        () => undefined,
        () => undefined,
      ),
    );
    try {
      const alone = [await this.send(a, undefined, false), await this.send(b, undefined, false)];
      const merged = splitOutputs(jobs, await this.send(mergeInputs(jobs), undefined, true));
      if (!merged || !rowsAgree(alone, merged))
        return {
          rows: 0,
          why: 'a merged run of two rows does not answer each row as its run alone does (the rows depend on each other)',
        };
    } catch (error) {
      return { rows: 0, why: `the check's rows did not run (${messageOf(error)})` };
    }
    return {
      rows: maxRows,
      why: `every input and output leads with "${dimension.name}", and merged runs answer each row as alone`,
    };
  }

  /** Requests waiting or running. */
  get inFlight(): number {
    return this.queue.length + this.sent;
  }

  /**
   * Runs a request. Requests that arrive while the model is busy wait, and the compatible ones
   * then run as one batch (see batching.ts), so small requests from many clients share runs.
   */
  run(inputs: CheckedTensor[], outputs?: string[]): Promise<OutputTensor[]> {
    return new Promise((resolve, reject) => {
      const job: Job = jobOf(
        inputs,
        outputs,
        (answer) => {
          this.arrivals.delete(job);
          resolve(answer);
        },
        (error) => {
          this.arrivals.delete(job);
          reject(error);
        },
      );
      this.arrivals.set(job, performance.now());
      this.queue.push(job);
      this.pump();
    });
  }

  /** How long the oldest request waiting or running has been in the pool, in ms (0 when none is). */
  oldestMs(): number {
    const [first] = this.arrivals.values();
    return first === undefined ? 0 : performance.now() - first;
  }

  /**
   * Starts the next batch: a cheap one (its size runs in under 0.1 ms) on the main thread, once
   * the event loop has read what arrived (a setImmediate, so the requests read in one turn run
   * as one batch); any other in the thread when it has room.
   */
  private pump(): void {
    if (this.queue.length === 0) return;
    if (this.inline && this.costs.cheap(this.nextRows(), this.idle())) {
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    } else if (this.sent < PIPELINE) this.dispatch();
  }

  /**
   * Runs the cheap batches at the head of the queue on the main thread, one after another, for
   * at most FLUSH_MS before the event loop gets a turn (health checks wait no longer than that).
   */
  private flush(): void {
    this.flushing = false;
    const inline = this.inline as InlineSession;
    const started = performance.now();
    while (
      this.queue.length > 0 &&
      this.costs.cheap(this.nextRows(), this.idle()) &&
      performance.now() - started < FLUSH_MS
    ) {
      const batch = this.take();
      this.inlineRuns += 1;
      const run = (jobs: readonly Job[]) => inline.run(mergeInputs(jobs), jobs[0]?.outputs, this.costs, rowsOf(jobs));
      try {
        const split = splitOutputs(batch, run(batch));
        if (split) batch.forEach((job, index) => job.resolve(split[index] ?? []));
        else for (const job of batch) settle(job, () => run([job])); // an output without the batch rows
      } catch (error) {
        // A batch that fails may fail for one request in it: each runs again on its own, so one
        // request never fails its neighbours.
        if (batch.length === 1) batch[0]?.reject(error as Error);
        else for (const job of batch) settle(job, () => run([job]));
      }
    }
    this.pump();
    if (this.inFlight === 0) this.drained?.();
  }

  /** Only one batch waits and the inference thread runs none. */
  private idle(): boolean {
    return this.sent === 0 && this.nextRows() === rowsOf(this.queue);
  }

  /** Rows of the batch the queue would give now. */
  private nextRows(): number {
    return this.maxBatchRows === 0
      ? (this.queue[0]?.rows ?? 0)
      : nextBatch(this.queue, this.maxBatchRows, this.grows).rows;
  }

  private take(): Job[] {
    this.runs += 1;
    return this.maxBatchRows > 0 ? takeBatch(this.queue, this.maxBatchRows, this.grows) : this.queue.splice(0, 1);
  }

  /** Sends the next batch to the thread. */
  private dispatch(): void {
    const batch = this.take();
    this.sent += 1;
    const first = batch[0] as Job;
    const done = () => {
      this.sent -= 1;
      this.pump();
      if (this.inFlight === 0) this.drained?.();
    };
    let merged: CheckedTensor[];
    try {
      merged = mergeInputs(batch);
    } catch (error) {
      // Every request of a batch that cannot be assembled is answered, and its slot freed.
      for (const job of batch) job.reject(error as Error);
      return done();
    }
    // A merged batch's arrays are the pool's own, made for this run: moved. A lone request's are
    // the caller's, which may run them again (an adaptive probe, then the local answer): copied.
    this.send(merged, first.outputs, batch.length > 1).then(
      (outputs) => {
        const split = splitOutputs(batch, outputs);
        if (!split) return void this.runAlone(batch).finally(done); // an output without the batch rows
        batch.forEach((job, index) => job.resolve(split[index] ?? []));
        done();
      },
      (error: Error) => {
        if (batch.length > 1) return void this.runAlone(batch).finally(done);
        first.reject(error);
        done();
      },
    );
  }

  private async runAlone(batch: readonly Job[]): Promise<void> {
    for (const job of batch) await this.send(job.inputs, job.outputs, false).then(job.resolve, job.reject);
  }

  /**
   * Sends tensors to the thread: moved when `move` (arrays nothing reads afterwards), copied
   * otherwise. A failure to post (a detached array) rejects, never throws past the caller.
   */
  private send(inputs: CheckedTensor[], outputs: string[] | undefined, move: boolean): Promise<OutputTensor[]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const buffers = move
        ? inputs.flatMap((input) => (Array.isArray(input.data) ? [] : [input.data.buffer as ArrayBuffer]))
        : [];
      try {
        this.worker.postMessage({ id, inputs, ...(outputs && { outputs }) }, buffers);
      } catch (error) {
        this.pending.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Waits for the requests waiting and running, then stops the thread. */
  async close(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    this.inline?.release();
    await this.worker.terminate();
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    for (const job of this.queue.splice(0)) job.reject(error);
    this.pending.clear();
    this.drained?.();
  }
}
