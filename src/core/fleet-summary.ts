import type { Wave } from './config.ts';
import { GITHUB_LIMITS, fitWithin } from './github-limits.ts';
import { inert } from './markdown.ts';
import type { PlacementChoice } from './placement.ts';
import type { DeploymentState, FleetException, TargetStatus } from './rollout.ts';

/** What a fleet's summary names sites for: the rollout's exceptions, and the sites that run elsewhere than planned or by a person's word. */
export type FleetExceptionKind = FleetException | 'offloaded' | 'pinned';

export interface WaveSummary {
  wave: string;
  targets: number;
  /** The wave's own deployment state: failure if any target failed, else in progress while any is, and so on. */
  state: DeploymentState;
  /** Targets by deployment state. */
  states: Record<DeploymentState, number>;
  /** Targets by where the release runs them (blocked ones are left out). */
  placements: Partial<Record<PlacementChoice, number>>;
}

/** A rollout as counts per wave plus its exceptions by name: what GitHub is told, whatever the fleet's size. */
export interface FleetSummary {
  waves: WaveSummary[];
  /** Names by kind of exception, in wave order. */
  exceptions: Partial<Record<FleetExceptionKind, string[]>>;
}

export interface FleetInput {
  waves: readonly Wave[];
  statuses: readonly TargetStatus[];
  /** Each target's placement in the release. */
  placement: ReadonlyMap<string, PlacementChoice>;
  /** Targets a person pinned to a placement. */
  pinned?: ReadonlySet<string>;
}

const count = (value: number) => value.toLocaleString('en-US');
const STATES: readonly DeploymentState[] = ['failure', 'in_progress', 'success', 'queued', 'inactive'];

/** One state for a group of targets: the first, in STATES' order, that any of them is in. */
export const groupState = (states: Record<DeploymentState, number>): DeploymentState =>
  STATES.find((state) => states[state] > 0) ?? 'inactive';

export function summarizeFleet(input: FleetInput): FleetSummary {
  const byTarget = new Map(input.statuses.map((status) => [status.target, status]));
  const exceptions: FleetSummary['exceptions'] = {};
  const note = (kind: FleetExceptionKind, target: string) => (exceptions[kind] ??= []).push(target);
  const waves = input.waves.map((wave): WaveSummary => {
    const states: Record<DeploymentState, number> = { failure: 0, in_progress: 0, success: 0, queued: 0, inactive: 0 };
    const placements: WaveSummary['placements'] = {};
    for (const target of wave.targets) {
      const status = byTarget.get(target);
      states[status?.state ?? 'queued'] += 1;
      if (status?.exception) note(status.exception, target);
      const choice = input.placement.get(target);
      if (choice && choice !== 'blocked') placements[choice] = (placements[choice] ?? 0) + 1;
      if (choice === 'offload') note('offloaded', target);
      if (input.pinned?.has(target)) note('pinned', target);
    }
    return { wave: wave.name, targets: wave.targets.length, state: groupState(states), states, placements };
  });
  return { waves, exceptions };
}

/** Sites named one by one in a comment up to this many; the rest are counted. */
export const NAMES_SHOWN = 10;

/** `a, b, c`, or the first names and a count: a comment stays small whatever the fleet. */
export function targetsInWords(targets: readonly string[]): string {
  if (targets.length <= NAMES_SHOWN) return targets.join(', ');
  return `${count(targets.length)} targets: ${targets.slice(0, NAMES_SHOWN).join(', ')} and ${count(targets.length - NAMES_SHOWN)} more`;
}

const STATE_WORDS: Record<DeploymentState, string> = {
  success: 'healthy',
  in_progress: 'rolling out',
  failure: 'failed',
  queued: 'waiting',
  inactive: 'left alone',
};

/** A wave in a deployment description: its counts, within GitHub's 140 characters. */
export function waveDescription(version: string, wave: WaveSummary): string {
  const parts = STATES.filter((state) => wave.states[state] > 0).map(
    (state) => `${count(wave.states[state])} ${STATE_WORDS[state]}`,
  );
  return fitWithin(
    `${version} to ${count(wave.targets)} target${wave.targets === 1 ? '' : 's'}: ${parts.join(', ')}`,
    GITHUB_LIMITS.deploymentDescription,
  );
}

/** A wave's placements in words: `91 edge, 10 offload`. */
const placementWords = (wave: WaveSummary) =>
  (Object.entries(wave.placements) as [PlacementChoice, number][])
    .map(([choice, value]) => `${count(value)} ${choice}`)
    .join(', ');

/** The waves as a markdown table: one row each, counts by state and placement. */
export function waveTable(summary: FleetSummary): string[] {
  const rows = summary.waves.map(
    (wave) =>
      `| ${inert(wave.wave, 63)} | ${count(wave.targets)} | ${STATES.map((state) => (wave.states[state] ? count(wave.states[state]) : '')).join(' | ')} | ${placementWords(wave) || '—'} |`,
  );
  return [
    `| wave | targets | ${STATES.map((state) => STATE_WORDS[state]).join(' | ')} | placement |`,
    `|---|---:|${STATES.map(() => '---:').join('|')}|---|`,
    ...rows,
  ];
}

const EXCEPTION_WORDS: Record<FleetExceptionKind, string> = {
  degraded: 'Degraded',
  'sync-failed': 'Failed to sync',
  'analysis-failed': 'Failed its analysis',
  'rolled-back': 'Rolled back',
  held: 'Held by a person',
  'changed-by-hand': 'Changed by hand in the GitOps repo',
  blocked: 'Blocked (no placement fits)',
  pinned: 'Pinned by a person',
  offloaded: 'Offloaded to the cloud',
};

/**
 * The exceptions as markdown lines, the first `names` of each kind by name and the rest counted,
 * with where to read them all (`rest`, e.g. a link to the release record).
 */
export function exceptionLines(summary: FleetSummary, options: { names: number; rest: string }): string[] {
  return (Object.keys(EXCEPTION_WORDS) as FleetExceptionKind[]).flatMap((kind) => {
    const names = summary.exceptions[kind] ?? [];
    if (names.length === 0) return [];
    const shown = names
      .slice(0, options.names)
      .map((name) => `\`${inert(name, 63)}\``)
      .join(', ');
    const more =
      names.length > options.names ? ` and ${count(names.length - options.names)} more (${options.rest})` : '';
    return [`- **${EXCEPTION_WORDS[kind]}** (${count(names.length)}): ${shown}${more}`];
  });
}
