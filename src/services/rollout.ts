import semver from 'semver';
import { wavesOf, type EdgeshipConfig } from '../core/config.ts';
import {
  parseReleaseRecord,
  writeReleaseRecord,
  type ReleaseRecord,
  type RolloutStatus,
} from '../core/release-record.ts';
import type { EvaluationReport } from '../core/report-schema.ts';
import { planRollout, targetStatuses, type RolloutStep, type TargetState, type TargetStatus } from '../core/rollout.ts';
import type { SiteAnalysis } from '../core/analysis.ts';
import type { FleetState, FleetStatus, GitOpsRepo, Logger } from '../ports.ts';
import { applyRelease } from './apply.ts';
import { readRecord } from './gitops-writes.ts';
import { rollBack } from './rollback.ts';

export interface RolloutDeps {
  gitops: GitOpsRepo;
  /** Argo CD, when edgeship can read it; without it only `promote` sends the later waves. */
  fleet?: FleetStatus;
  log: Logger;
  now?: () => number;
  /** How a person sends the next wave where edgeship cannot watch health: a PR comment, or the CLI's flag. */
  promoteHint?: string;
  /** What the sites reported of a release's analysis (rollout.analysis), by target. */
  verdicts?: (model: string, version: string, targets: readonly string[]) => ReadonlyMap<string, SiteAnalysis>;
}

export type RolloutAction =
  RolloutStep | { kind: 'superseded'; by: string } | { kind: 'finished'; status: RolloutStatus };

export interface RolloutResult {
  action: RolloutAction;
  status: RolloutStatus;
  reason?: string;
  statuses: TargetStatus[];
  /** Targets a person pinned to a placement in the release record. */
  pinned: string[];
  /** Targets a person holds, with the reason, in the order of the config. */
  holds: { target: string; reason: string }[];
  /** Targets by the version the GitOps repo has for them after this step ('none' where it has none). */
  versions: Record<string, number>;
  /** Waves that got this release, in order, and the one a promote would send next. */
  sent: string[];
  next?: string;
  commit?: { sha: string; files: string[] };
}

const noFleet = (hint = '`/edgeship promote`') =>
  `edgeship cannot read Argo CD here, so it does not watch health: ${hint} sends the next wave, and after the last one finishes the rollout`;

/**
 * One step of a release's rollout, level-triggered from the GitOps repo and Argo CD:
 * 1. read the record; a newer release there supersedes this one, a finished rollout only
 *    reports where each target stands;
 * 2. read Argo CD and plan (core/rollout): a target counts as synced only when the commit Argo CD
 *    synced has the release for it;
 * 3. act on the step: send a wave, roll back, halt or finish, each one compare-and-swap commit;
 * 4. report each target's state, for deployment statuses.
 * `promote` sends the next wave without waiting for health or soak.
 */
export async function advanceRollout(
  deps: RolloutDeps,
  config: EdgeshipConfig,
  report: EvaluationReport,
  options: { promote?: boolean } = {},
): Promise<RolloutResult> {
  const now = deps.now?.() ?? Date.now();
  const version = report.version.version;
  const { path, record } = await readRecord(config, (file) => deps.gitops.read(file));
  if (record && record.version !== version && semver.valid(record.version) && semver.gt(record.version, version)) {
    return {
      action: { kind: 'superseded', by: record.version },
      status: 'done',
      statuses: [],
      pinned: [],
      holds: [],
      versions: {},
      sent: [],
    };
  }
  const current = record?.version === version ? record : undefined;
  const states = await observe(deps, config, report, record, path, now);
  const status: RolloutStatus = current?.rollout?.status ?? (current ? 'done' : 'rolling-out');
  const applied = new Set(Object.keys(current?.rollout?.waves ?? {}));
  const waves = wavesOf(config);
  const analysis = config.rollout?.analysis;
  const result = (
    action: RolloutAction,
    final: RolloutStatus,
    reason?: string,
    commit?: RolloutResult['commit'],
  ): RolloutResult => ({
    action,
    status: final,
    ...(reason && { reason }),
    statuses: targetStatuses({
      waves,
      version,
      states,
      now,
      status: final,
      applied,
      ...(reason && { reason }),
      ...(analysis && { analysis }),
    }),
    pinned: Object.entries(record?.targets ?? {}).flatMap(([name, entry]) => (entry.pin ? [name] : [])),
    holds: config.targets.flatMap((target) => {
      const hold = record?.targets[target.name]?.hold;
      return hold === undefined ? [] : [{ target: target.name, reason: hold }];
    }),
    versions: countVersions(states),
    sent: waves.filter((wave) => applied.has(wave.name)).map((wave) => wave.name),
    ...(final === 'rolling-out' && {
      next: waves.find((wave) => !applied.has(wave.name) && wave.targets.some((target) => !states.get(target)?.skip))
        ?.name,
    }),
    ...(commit && { commit }),
  });
  if (status !== 'rolling-out') return result({ kind: 'finished', status }, status, current?.rollout?.reason);

  let step = planRollout({ waves, version, states, now, applied, ...(analysis && { analysis }) });
  const nextWave = waves.find(
    (wave) => !applied.has(wave.name) && wave.targets.some((target) => !states.get(target)?.skip),
  );
  if (options.promote && step.kind === 'wait') {
    // Promoted past the last wave, the rollout is done: a person vouched for what edgeship cannot see.
    const skipped = config.targets.map((target) => target.name).filter((target) => states.get(target)?.skip);
    step = nextWave
      ? {
          kind: 'apply-wave',
          wave: nextWave.name,
          targets: nextWave.targets.filter((target) => !states.get(target)?.skip),
        }
      : { kind: 'done', skipped };
  } else if (
    !deps.fleet &&
    !options.promote &&
    (step.kind === 'wait' || (step.kind === 'apply-wave' && applied.size > 0))
  ) {
    step = {
      kind: 'wait',
      wave: step.kind === 'wait' ? step.wave : ([...applied].pop() ?? step.wave),
      reason: noFleet(deps.promoteHint),
    };
  }
  switch (step.kind) {
    case 'apply-wave': {
      const sentAt = new Date(now).toISOString();
      const commit = await applyRelease(deps.gitops, config, report, {
        targets: step.targets,
        rollout: { status: 'rolling-out', waves: { [step.wave]: sentAt } },
      });
      applied.add(step.wave);
      for (const target of step.targets)
        states.set(target, {
          ...(states.get(target) ?? { target }),
          target,
          version,
          sync: 'OutOfSync',
          health: states.get(target)?.health ?? 'Unknown',
        });
      deps.log.info(
        { model: config.model, version, wave: step.wave, targets: step.targets.length },
        'Rollout sent a wave',
      );
      return result(step, 'rolling-out', undefined, commit);
    }
    case 'rollback':
    case 'halt': {
      const final = step.kind === 'rollback' ? 'rolled-back' : 'halted';
      const targets = step.kind === 'rollback' ? step.targets : [];
      const commit = await rollBack(deps.gitops, config, {
        version,
        targets,
        status: final,
        reason: step.reason,
        message: `${final === 'rolled-back' ? 'rollback' : 'halt'}(${config.model}): ${version} in wave ${step.wave}\n\n${step.reason}`,
      });
      for (const target of targets) {
        const state = states.get(target);
        if (state) states.set(target, { ...state, version: state.previous ?? '' });
      }
      deps.log.warn({ model: config.model, version, wave: step.wave, reason: step.reason }, `Rollout ${final}`);
      return result(step, final, step.reason, commit);
    }
    case 'done': {
      const commit = await deps.gitops.apply(async (read) => {
        const { record: now, text } = await readRecord(config, read);
        if (!now || now.version !== version || now.rollout?.status !== 'rolling-out' || text === undefined) return [];
        return [
          {
            path,
            content: writeReleaseRecord(
              text,
              { model: config.model, rollout: { status: 'done', waves: now.rollout.waves } },
              path,
            ),
          },
        ];
      }, `rollout(${config.model}): ${version} done`);
      return result(step, 'done', undefined, commit);
    }
    case 'wait':
      return result(step, 'rolling-out', undefined);
  }
}

function countVersions(states: ReadonlyMap<string, TargetState>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const state of states.values()) counts[state.version ?? 'none'] = (counts[state.version ?? 'none'] ?? 0) + 1;
  return counts;
}

/**
 * A release's first GitOps commit, as the app makes it on a merge: with rollout waves, the
 * release record and the first wave (advanceRollout sends the next ones); without, every target.
 */
export async function startRollout(
  deps: Omit<RolloutDeps, 'fleet'>,
  config: EdgeshipConfig,
  report: EvaluationReport,
): Promise<{ commit?: { sha: string; files: string[] }; result?: RolloutResult }> {
  if (!config.rollout) {
    const commit = await applyRelease(deps.gitops, config, report);
    return commit ? { commit } : {};
  }
  const result = await advanceRollout(deps, config, report);
  return { result, ...(result.commit && { commit: result.commit }) };
}

/**
 * Each target's state: its version and previous version from the record, why it is skipped
 * (a person's hold, a hand edit after its wave, a blocked placement), and Argo CD's view, where
 * Synced counts only when the synced commit has this release for the target.
 */
async function observe(
  deps: RolloutDeps,
  config: EdgeshipConfig,
  report: EvaluationReport,
  record: ReleaseRecord | undefined,
  path: string,
  now: number,
): Promise<Map<string, TargetState>> {
  const version = report.version.version;
  const current = record?.version === version ? record : undefined;
  const names = config.targets.map((target) => target.name);
  const fleet = deps.fleet ? await deps.fleet.states(names) : new Map<string, FleetState>();
  const verdicts: ReadonlyMap<string, SiteAnalysis> =
    config.rollout?.analysis && deps.verdicts ? deps.verdicts(config.model, version, names) : new Map();
  const atRevision = new Map<string, Promise<ReleaseRecord | undefined>>();
  const recordAt = (revision: string) => {
    if (!atRevision.has(revision)) {
      atRevision.set(
        revision,
        deps.gitops
          .readAt(path, revision)
          .then((text) =>
            text === undefined ? undefined : parseReleaseRecord(text, `${path}@${revision.slice(0, 7)}`),
          )
          .catch(() => undefined),
      );
    }
    return atRevision.get(revision) as Promise<ReleaseRecord | undefined>;
  };
  const waveOf = new Map(wavesOf(config).flatMap((wave) => wave.targets.map((target) => [target, wave.name] as const)));
  const decisions = new Map(report.placement.map((decision) => [decision.target, decision]));
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, TargetState]> => {
      const entry = record?.targets[name];
      const wave = waveOf.get(name) ?? '';
      const sentAt = current?.rollout?.waves[wave];
      const decision = decisions.get(name);
      const [skip, skipKind] = entry?.hold
        ? [`held by a person: ${entry.hold}`, 'held' as const]
        : sentAt && entry && entry.version !== version
          ? [
              `changed by hand in the GitOps repo to ${entry.version} after wave ${wave}; edgeship leaves it`,
              'changed-by-hand' as const,
            ]
          : decision?.choice === 'blocked' && !entry?.pin
            ? [`blocked: ${decision.reason}`, 'blocked' as const]
            : [];
      const seen = fleet.get(name) ?? { sync: 'Unknown' as const, health: 'Unknown' as const };
      let sync = seen.sync;
      if (sync === 'Synced' && entry?.version === version && seen.revision) {
        const synced = await recordAt(seen.revision);
        if (synced?.targets[name]?.version !== version) sync = 'OutOfSync';
      }
      const since = Math.max(seen.healthySince ?? -Infinity, sentAt ? Date.parse(sentAt) : -Infinity);
      const state: TargetState = {
        target: name,
        sync,
        health: seen.health,
        ...(entry && { version: entry.version }),
        ...(entry?.previous && { previous: entry.previous.version }),
        ...(seen.syncFailed && entry?.version === version && { syncFailed: true }),
        ...(Number.isFinite(since) && since <= now && { healthySince: since }),
        ...(skip && { skip, skipKind }),
        ...(verdicts.has(name) && { analysis: verdicts.get(name) }),
      };
      return [name, state];
    }),
  );
  return new Map(entries);
}
