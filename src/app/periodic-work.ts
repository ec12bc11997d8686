import type { LeaderDuties } from '../adapters/k8s/leader-election.ts';
import type { Logger } from '../ports.ts';

/** Timed work of the app: the resync, the rollout tick, looks at training runs, the redelivery sweep. */
export interface PeriodicTask {
  /** What it is, as the log names it when it fails ("Rollout tick"). */
  name: string;
  /** Milliseconds between runs; 0 turns it off. */
  everyMs: number;
  /** Also run as soon as the work starts (a new leader resyncs first), not only after the first interval. */
  atStart?: boolean;
  /** Runs once; answers how many things it queued. */
  run: () => Promise<number>;
}

/**
 * The app's timed work, as one mechanism: each task on its interval while this replica leads
 * (with replicas, the one holding the Lease; alone, this process), and a nudge (an Argo CD
 * notification, a run's callback) runs one now. A follower's nudge waits for the leader's next
 * run. A task that fails is logged and runs again at its next interval.
 */
export class PeriodicWork implements LeaderDuties {
  private readonly timers: NodeJS.Timeout[] = [];
  private leading = false;

  constructor(
    private readonly tasks: readonly PeriodicTask[],
    private readonly log: Logger,
  ) {}

  start(): void {
    this.leading = true;
    for (const task of this.tasks) {
      if (task.everyMs <= 0) continue;
      const run = () => void this.run(task);
      if (task.atStart) this.timers.push(setTimeout(run, 0));
      this.timers.push(setInterval(run, task.everyMs));
    }
    for (const timer of this.timers) timer.unref();
  }

  stop(): void {
    this.leading = false;
    for (const timer of this.timers.splice(0)) clearTimeout(timer);
  }

  /** Runs the task named `name` now, when this replica leads; answers how many things it queued (0 on a follower). */
  nudge(name: string): Promise<number> {
    const task = this.tasks.find((candidate) => candidate.name === name);
    if (!task) throw new Error(`no periodic task "${name}"`);
    return this.leading ? this.run(task) : Promise.resolve(0);
  }

  private run(task: PeriodicTask): Promise<number> {
    return task.run().catch((error: unknown) => {
      this.log.error({ err: error }, `${task.name} failed`);
      return 0;
    });
  }
}
