import type { Wave } from './config.ts';
import type { RolloutStatus } from './release-record.ts';
import { analysisFailure, judgeSite, type Analysis, type SiteAnalysis } from './analysis.ts';

/** Argo CD's view of one target's Application, plus what the GitOps repo says it runs. */
export interface TargetState {
  target: string;
  /** Version the GitOps repo has for this target. */
  version?: string;
  /** Version the target ran before, where a rollback goes. */
  previous?: string;
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  health: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  /** The last sync operation failed. */
  syncFailed?: boolean;
  /** Since when (ms since epoch) the Application has been Synced and Healthy. */
  healthySince?: number;
  /** Why edgeship leaves this target alone: a person's hold or hand edit, or a blocked placement. */
  skip?: string;
  /** Which of those it is, for counts. */
  skipKind?: 'held' | 'changed-by-hand' | 'blocked';
  /** What the site reported of this release's analysis (rollout.analysis), when there is one. */
  analysis?: SiteAnalysis;
}

export type RolloutStep =
  | { kind: 'apply-wave'; wave: string; targets: string[] }
  | { kind: 'wait'; wave: string; reason: string }
  | { kind: 'rollback'; wave: string; targets: string[]; reason: string }
  | { kind: 'halt'; wave: string; reason: string }
  | { kind: 'done'; skipped: string[] };

export interface RolloutInput {
  waves: Wave[];
  version: string;
  states: ReadonlyMap<string, TargetState>;
  now: number;
  /** Names of the waves that got the release: a wave followed by a sent one has passed its soak. */
  applied?: ReadonlySet<string>;
  /** The release's site-side analysis (rollout.analysis): a wave goes on only when its sites passed. */
  analysis?: Analysis;
}

const unknown = (target: string): TargetState => ({ target, sync: 'Unknown', health: 'Unknown' });
const failedOf = (state: TargetState, analysis?: Analysis) =>
  Boolean(state.syncFailed) ||
  state.health === 'Degraded' ||
  (analysis !== undefined && judgeSite(state.analysis, analysis, false) === 'failed');
const failure = (state: TargetState, analysis?: Analysis) =>
  state.syncFailed
    ? `${state.target} failed to sync`
    : state.health === 'Degraded'
      ? `${state.target} is Degraded`
      : analysisFailure(state.target, state.analysis, analysis as Analysis);
const readyOf = (state: TargetState) => state.sync === 'Synced' && state.health === 'Healthy';

/**
 * The next step of a rollout, wave by wave (level-triggered: the same inputs give the same step):
 * 1. a wave whose targets do not all have the release yet gets it (earlier waves are done);
 * 2. a failed sync or a Degraded target in the wave rolls those targets back to what they ran
 *    before and stops the rollout (halts when none ran anything before);
 * 3. otherwise wait until every target is Synced and Healthy for the wave's soak time;
 * 4. then the next wave. Skipped targets are left alone and reported.
 * A wave a later wave followed has passed: it is checked for failures only.
 */
export function planRollout(input: RolloutInput): RolloutStep {
  const skipped: string[] = [];
  for (const [index, wave] of input.waves.entries()) {
    const passed = input.waves.slice(index + 1).some((later) => input.applied?.has(later.name));
    const targets = wave.targets.filter((name) => {
      if (input.states.get(name)?.skip) skipped.push(name);
      return !input.states.get(name)?.skip;
    });
    if (targets.length === 0) continue;
    const behind = targets.filter((name) => input.states.get(name)?.version !== input.version);
    if (behind.length > 0) return { kind: 'apply-wave', wave: wave.name, targets: behind };
    const states = targets.map((name) => input.states.get(name) ?? unknown(name));
    const failed = states.filter((state) => failedOf(state, input.analysis));
    if (failed.length > 0) return rollBackOrHalt(wave.name, failed, input.analysis);
    if (passed) continue;
    const notReady = states.filter((state) => !readyOf(state));
    if (notReady.length > 0) {
      return {
        kind: 'wait',
        wave: wave.name,
        reason: notReady.map((state) => `${state.target} ${state.sync}/${state.health}`).join(', '),
      };
    }
    const soakEnds = Math.max(...states.map((state) => (state.healthySince ?? input.now) + wave.soakMinutes * 60_000));
    if (soakEnds > input.now) {
      return {
        kind: 'wait',
        wave: wave.name,
        reason: `soaking until ${new Date(soakEnds).toISOString()} (${wave.soakMinutes} min Healthy)`,
      };
    }
    if (input.analysis) {
      const verdict = judgeWave(wave.name, states, input.analysis);
      if (verdict) return verdict;
    }
  }
  return { kind: 'done', skipped };
}

/** Rolls back the failed targets that ran a release before; halts when none did. */
function rollBackOrHalt(wave: string, failed: readonly TargetState[], analysis?: Analysis): RolloutStep {
  const reason = listed(failed.map((state) => failure(state, analysis)));
  const back = failed.filter((state) => state.previous);
  if (back.length === 0) return { kind: 'halt', wave, reason: `${reason}; it ran no earlier release to roll back to` };
  return { kind: 'rollback', wave, targets: back.map((state) => state.target), reason };
}

/** Failures named one by one up to this many; a wave of thousands says how many more. */
const FAILURES_NAMED = 10;
const listed = (reasons: readonly string[]) =>
  reasons.length <= FAILURES_NAMED
    ? reasons.join(', ')
    : `${reasons.slice(0, FAILURES_NAMED).join(', ')} and ${reasons.length - FAILURES_NAMED} more`;

/**
 * The end of a soaked wave's analysis: sites that failed (or stayed silent, unless silence may
 * pass) are rolled back and the rollout stops; too small a share passed halts it; else undefined,
 * and the next wave may go.
 */
function judgeWave(wave: string, states: readonly TargetState[], analysis: Analysis): RolloutStep | undefined {
  const judged = states.map((state) => [state, judgeSite(state.analysis, analysis, true)] as const);
  const failed = judged.filter(([, verdict]) => verdict === 'failed').map(([state]) => state);
  if (failed.length > 0) return rollBackOrHalt(wave, failed, analysis);
  const passed = judged.filter(([, verdict]) => verdict === 'passed').length;
  if (passed < Math.ceil(analysis.passShare * states.length - 1e-9))
    return {
      kind: 'halt',
      wave,
      reason: `${passed} of ${states.length} sites passed their analysis, fewer than the ${Math.round(analysis.passShare * 100)}% needed; the others served too little to judge`,
    };
  return undefined;
}

/** A GitHub deployment state, mirrored from a target's state in the rollout. */
export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'inactive';

/** What sets a target apart from its wave, for the fleet's exceptions. */
export type FleetException =
  'degraded' | 'sync-failed' | 'analysis-failed' | 'rolled-back' | NonNullable<TargetState['skipKind']>;

export interface TargetStatus {
  target: string;
  state: DeploymentState;
  description: string;
  exception?: FleetException;
}

export interface StatusInput extends RolloutInput {
  status: RolloutStatus;
  applied: ReadonlySet<string>;
  reason?: string;
}

/**
 * Where each target stands in the rollout, as a deployment state: queued until its wave,
 * in progress until Synced and Healthy through the soak (or a later wave went out), success
 * then; failure when it was rolled back or failed; inactive when it is left alone.
 */
export function targetStatuses(input: StatusInput): TargetStatus[] {
  const final = input.status === 'rolled-back' || input.status === 'halted';
  return input.waves.flatMap((wave, index) => {
    const soakedByLater =
      input.waves.slice(index + 1).some((later) => input.applied.has(later.name)) || input.status === 'done';
    return wave.targets.map((target): TargetStatus => {
      const state = input.states.get(target) ?? unknown(target);
      const at = (description: string, status: DeploymentState, exception?: FleetException): TargetStatus => ({
        target,
        state: status,
        description,
        ...(exception && { exception }),
      });
      if (state.skip) return at(state.skip, 'inactive', state.skipKind);
      if (state.version === input.version) {
        if (failedOf(state))
          return state.syncFailed
            ? at('Argo CD failed to sync it', 'failure', 'sync-failed')
            : at('Degraded after the sync', 'failure', 'degraded');
        // Past its failure limit, or silent when the rollout stopped at its wave: the site failed its analysis.
        if (input.analysis && judgeSite(state.analysis, input.analysis, final) === 'failed')
          return at(analysisFailure(target, state.analysis, input.analysis), 'failure', 'analysis-failed');
        const soaked = (state.healthySince ?? Infinity) + wave.soakMinutes * 60_000 <= input.now;
        if (readyOf(state) && (soaked || soakedByLater)) return at('Synced and Healthy', 'success');
        // A finished rollout stays a success through later syncs; only a failure changes that.
        if (input.status === 'done') return at(`rolled out; now ${state.sync}/${state.health}`, 'success');
        if (final)
          return at(
            `${state.sync}/${state.health} when the rollout stopped: ${input.reason ?? input.status}`,
            'inactive',
          );
        return at(
          readyOf(state)
            ? `Synced and Healthy; soaking for ${wave.soakMinutes} min (wave ${wave.name})`
            : `${state.sync}/${state.health} (wave ${wave.name})`,
          'in_progress',
        );
      }
      if (final && input.applied.has(wave.name))
        return at(
          `rolled back to ${state.version ?? 'nothing'}: ${input.reason ?? input.status}`,
          'failure',
          'rolled-back',
        );
      if (final) return at(`not rolled out: ${input.reason ?? input.status}`, 'inactive');
      return at(`waits for wave ${wave.name}`, 'queued');
    });
  });
}
