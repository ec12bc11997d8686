import { InferenceRequestError } from '../core/oip.ts';

interface Pending {
  at: number;
  reject: (error: Error) => void;
}

/**
 * Answers a request whose model has not answered within `ms` with a 504. Every request has the
 * same deadline, so they expire in the order they came: one timer, armed for the oldest, serves
 * them all (a timer and a Promise.race per request cost more than the rest of a batch-1 request's
 * bookkeeping).
 */
export class Deadlines {
  private readonly pending = new Set<Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ms: number) {}

  /** `work`'s outcome, or a 504 once it has taken longer than the deadline. */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { at: performance.now() + this.ms, reject };
      this.pending.add(entry);
      this.arm();
      work.then(
        (value) => {
          this.pending.delete(entry);
          resolve(value);
        },
        (error: Error) => {
          this.pending.delete(entry);
          reject(error);
        },
      );
    });
  }

  private arm(): void {
    if (this.timer) return;
    const [oldest] = this.pending;
    if (!oldest) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, oldest.at - performance.now()));
    // Nothing else to wait for: a deadline alone does not keep the process running.
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.at > now) break;
      this.pending.delete(entry);
      entry.reject(new InferenceRequestError(504, `the model did not answer within ${this.ms} ms`));
    }
    this.arm();
  }
}
