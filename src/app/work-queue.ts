import type { Logger } from '../ports.ts';

/**
 * Runs work one task at a time per key (a repository), so events of one repository never
 * interleave while different repositories proceed in parallel. A webhook is answered when its task
 * has run (GitHub waits 10 s; the webhooks middleware answers 202 at 9 s): a process that dies
 * before acting never answered, GitHub records a failed delivery, and the leader's redelivery
 * sweep has it delivered again to a replica that is up. Failures are logged, never thrown at the
 * webhook: the resync picks up whatever a failure left unfinished.
 */
export class WorkQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();
  /** Tasks queued by `addOnce` that have not started yet, as `key\nname`. */
  private readonly waiting = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Queues the task; the promise settles (never rejects) when it has run, so a webhook can be answered after its work. */
  add(key: string, name: string, task: () => Promise<unknown>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task).then(
      (result) => this.log.debug({ key, task: name, result }, 'Task done'),
      (error: unknown) => this.log.error({ key, task: name, err: error }, 'Task failed'),
    );
    this.tails.set(key, next);
    this.pending.add(next);
    void next.finally(() => {
      this.pending.delete(next);
      if (this.tails.get(key) === next) this.tails.delete(key);
    });
    return next;
  }

  /**
   * Queues the task unless the same task of the key is queued and has not started: nudges that
   * arrive together (Argo CD notifications, ticks, watches) merge into one step, plus at most one
   * more for what arrives while it runs.
   */
  addOnce(key: string, name: string, task: () => Promise<unknown>): boolean {
    const id = `${key}\n${name}`;
    if (this.waiting.has(id)) return false;
    this.waiting.add(id);
    void this.add(key, name, () => {
      this.waiting.delete(id);
      return task();
    });
    return true;
  }

  /** Resolves once every queued task has finished, including tasks queued meanwhile. */
  async onIdle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
