import type { Wave } from './config.ts';

/** Argo CD's view of one target's Application, plus what the GitOps repo says it runs. */
export interface TargetState {
  target: string;
  /** Version the GitOps repo has for this target. */
  version?: string;
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  health: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  /** The last sync operation failed. */
  syncFailed?: boolean;
  /** Since when (ms since epoch) the Application has been Synced and Healthy. */
  healthySince?: number;
  /** A person pinned this target or rolled it back by hand: edgeship leaves it alone. */
  pinned?: boolean;
}

export type RolloutStep =
  | { kind: 'apply-wave'; wave: string; targets: string[] }
  | { kind: 'wait'; wave: string; reason: string }
  | { kind: 'rollback'; wave: string; targets: string[]; to: string; reason: string }
  | { kind: 'halt'; wave: string; reason: string }
  | { kind: 'done'; skipped: string[] };

export interface RolloutInput {
  waves: Wave[];
  version: string;
  /** The last good release, to roll back to; absent for a first release. */
  previous?: string;
  states: ReadonlyMap<string, TargetState>;
  now: number;
}

/**
 * The next step of a rollout, wave by wave (level-triggered: the same inputs give the same step):
 * 1. a wave whose targets do not all have the release yet gets it (earlier waves are done);
 * 2. a failed sync or a Degraded target in the wave rolls those targets back to the last good
 *    release and stops the rollout (halts when there is none);
 * 3. otherwise wait until every target is Synced and Healthy for the wave's soak time;
 * 4. then the next wave. Pinned targets are skipped and reported.
 */
export function planRollout(input: RolloutInput): RolloutStep {
  const skipped: string[] = [];
  for (const wave of input.waves) {
    const targets = wave.targets.filter((name) => {
      if (input.states.get(name)?.pinned) skipped.push(name);
      return !input.states.get(name)?.pinned;
    });
    if (targets.length === 0) continue;
    const behind = targets.filter((name) => input.states.get(name)?.version !== input.version);
    if (behind.length > 0) return { kind: 'apply-wave', wave: wave.name, targets: behind };
    const states = targets.map((name) => input.states.get(name) ?? ({ target: name, sync: 'Unknown', health: 'Unknown' } satisfies TargetState));
    const failed = states.filter((state) => state.syncFailed || state.health === 'Degraded');
    if (failed.length > 0) {
      const reason = failed.map((state) => `${state.target} ${state.syncFailed ? 'failed to sync' : 'is Degraded'}`).join(', ');
      if (!input.previous) return { kind: 'halt', wave: wave.name, reason: `${reason}; no earlier release to roll back to` };
      return { kind: 'rollback', wave: wave.name, targets: failed.map((state) => state.target), to: input.previous, reason };
    }
    const notReady = states.filter((state) => state.sync !== 'Synced' || state.health !== 'Healthy');
    if (notReady.length > 0) {
      return { kind: 'wait', wave: wave.name, reason: notReady.map((state) => `${state.target} ${state.sync}/${state.health}`).join(', ') };
    }
    const soakEnds = Math.max(...states.map((state) => (state.healthySince ?? input.now) + wave.soakMinutes * 60_000));
    if (soakEnds > input.now) {
      return { kind: 'wait', wave: wave.name, reason: `soaking until ${new Date(soakEnds).toISOString()} (${wave.soakMinutes} min Healthy)` };
    }
  }
  return { kind: 'done', skipped };
}
