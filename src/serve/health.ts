import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { threadOf } from '../adapters/worker-thread.ts';

/** Slots of the state the main thread shares with the health thread. */
export const SLOT = { ready: 0, beat: 1, stuck: 2 } as const;
/** How often the main thread beats and publishes readiness. */
export const BEAT_MS = 250;

/** What the health thread asks the main thread, and how it is answered. */
export type HealthRequest = { kind: 'metrics'; id: number };
export type HealthReply = { kind: 'metrics'; id: number; status: number; contentType: string; text: string };
export type HealthStarted = { kind: 'listening'; port: number } | { kind: 'failed'; message: string };

export interface HealthSources {
  ready: () => boolean;
  /** How long the oldest request has waited for the model, in ms. */
  stuckMs: () => number;
  metrics: () => Promise<{ contentType: string; text: string }>;
}

/**
 * The health port, served by a thread of its own: liveness and readiness answered from its own
 * event loop, so a probe never waits for a turn of the main thread's (while a thousand clients
 * connect at once, one turn takes up to ~100 ms and a probe on the inference port 1.5-2.4 s).
 * Liveness still follows the main thread: it is live while the main thread's heartbeat moves,
 * and answers 503 once it has stood still for `stallMs`, or once a request has waited for the
 * model for `stuckMs` (the inference pool is stuck). Metrics are asked of the main thread.
 */
export class HealthPort {
  private constructor(
    private readonly worker: Worker,
    private readonly beating: NodeJS.Timeout,
    readonly port: number,
  ) {}

  static async open(
    port: number,
    host: string,
    sources: HealthSources,
    stallMs = 10_000,
    stuckMs = 60_000,
  ): Promise<HealthPort> {
    const state = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
    const publish = () => {
      Atomics.store(state, SLOT.ready, sources.ready() ? 1 : 0);
      Atomics.store(state, SLOT.stuck, Math.min(2 ** 31 - 1, Math.round(sources.stuckMs())));
      Atomics.add(state, SLOT.beat, 1);
    };
    publish();
    const worker = threadOf(new URL('./health-thread', import.meta.url), { port, host, state, stallMs, stuckMs });
    worker.on('message', (message: HealthRequest | HealthStarted) => {
      if (message.kind !== 'metrics') return;
      sources.metrics().then(
        (metrics) =>
          worker.postMessage({ kind: 'metrics', id: message.id, status: 200, ...metrics } satisfies HealthReply),
        (error: unknown) =>
          worker.postMessage({
            kind: 'metrics',
            id: message.id,
            status: 500,
            contentType: 'text/plain',
            text: String(error),
          } satisfies HealthReply),
      );
    });
    const [started] = (await once(worker, 'message')) as [HealthStarted];
    if (started.kind === 'failed') {
      await worker.terminate();
      throw new Error(started.message);
    }
    const beating = setInterval(publish, BEAT_MS);
    beating.unref();
    return new HealthPort(worker, beating, started.port);
  }

  async close(): Promise<void> {
    clearInterval(this.beating);
    await this.worker.terminate();
  }
}
