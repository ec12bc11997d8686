import { describe, expect, it } from 'vitest';
import { planRollout, targetStatuses, type TargetState } from '../../src/core/rollout.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const MIN = 60_000;
const waves = [
  { name: 'canary', targets: ['a'], soakMinutes: 15 },
  { name: 'plants', targets: ['b', 'c'], soakMinutes: 10 },
];
/** A target state, typed where the table would widen its literals. */
const state = (value: TargetState): TargetState => value;
const healthy = (target: string, version: string, minutes = 60): TargetState => ({
  target,
  version,
  sync: 'Synced',
  health: 'Healthy',
  healthySince: NOW - minutes * MIN,
});
const plan = (states: TargetState[], previous: string | null = '1.0.0') =>
  planRollout({
    waves,
    version: '1.1.0',
    states: new Map(states.map((state) => [state.target, { ...state, ...(previous && { previous }) }])),
    now: NOW,
  });

describe('planRollout', () => {
  it.each([
    [
      'starts with the canary wave',
      [healthy('a', '1.0.0'), healthy('b', '1.0.0'), healthy('c', '1.0.0')],
      { kind: 'apply-wave', wave: 'canary', targets: ['a'] },
    ],
    [
      'waits while the canary syncs',
      [state({ target: 'a', version: '1.1.0', sync: 'OutOfSync', health: 'Progressing' })],
      { kind: 'wait', wave: 'canary', reason: 'a OutOfSync/Progressing' },
    ],
    [
      'soaks a healthy canary',
      [healthy('a', '1.1.0', 5)],
      { kind: 'wait', wave: 'canary', reason: 'soaking until 2026-11-26T12:10:00.000Z (15 min Healthy)' },
    ],
    [
      'moves to the next wave after the soak',
      [healthy('a', '1.1.0', 15), healthy('b', '1.0.0'), healthy('c', '1.1.0')],
      { kind: 'apply-wave', wave: 'plants', targets: ['b'] },
    ],
    [
      'rolls back a Degraded wave to the last good release',
      [
        healthy('a', '1.1.0'),
        healthy('b', '1.1.0'),
        state({ target: 'c', version: '1.1.0', sync: 'Synced', health: 'Degraded' }),
      ],
      { kind: 'rollback', wave: 'plants', targets: ['c'], reason: 'c is Degraded' },
    ],
    [
      'rolls back a failed sync',
      [state({ target: 'a', version: '1.1.0', sync: 'OutOfSync', health: 'Healthy', syncFailed: true })],
      { kind: 'rollback', wave: 'canary', targets: ['a'], reason: 'a failed to sync' },
    ],
    [
      'is done when every wave soaked',
      [healthy('a', '1.1.0'), healthy('b', '1.1.0'), healthy('c', '1.1.0')],
      { kind: 'done', skipped: [] },
    ],
    [
      'treats a target Argo CD does not know as not ready',
      [
        healthy('a', '1.1.0'),
        healthy('b', '1.1.0'),
        state({ target: 'c', version: '1.1.0', sync: 'Unknown', health: 'Missing' }),
      ],
      { kind: 'wait', wave: 'plants', reason: 'c Unknown/Missing' },
    ],
  ])('%s', (_case, states, step) => {
    expect(plan(states)).toEqual(step);
  });

  it('halts a first release that degrades: there is nothing to roll back to', () => {
    expect(plan([{ target: 'a', version: '1.1.0', sync: 'Synced', health: 'Degraded' }], null)).toEqual({
      kind: 'halt',
      wave: 'canary',
      reason: 'a is Degraded; it ran no earlier release to roll back to',
    });
  });

  it('leaves skipped targets alone and says so', () => {
    const pinned: TargetState = { ...healthy('a', '1.0.0'), skip: 'held by a person' };
    expect(plan([pinned, healthy('b', '1.0.0'), healthy('c', '1.0.0')])).toEqual({
      kind: 'apply-wave',
      wave: 'plants',
      targets: ['b', 'c'],
    });
    expect(plan([pinned, healthy('b', '1.1.0'), healthy('c', '1.1.0')])).toEqual({ kind: 'done', skipped: ['a'] });
  });
});

describe('targetStatuses', () => {
  const statuses = (
    states: TargetState[],
    status: 'rolling-out' | 'done' | 'rolled-back' | 'halted',
    applied: string[],
    reason?: string,
  ) =>
    targetStatuses({
      waves,
      version: '1.1.0',
      states: new Map(states.map((entry) => [entry.target, entry])),
      now: NOW,
      status,
      applied: new Set(applied),
      ...(reason && { reason }),
    }).map((entry) => `${entry.target}:${entry.state}`);

  it('mirrors a rollout in its second wave', () => {
    const syncing = state({ target: 'b', version: '1.1.0', sync: 'OutOfSync', health: 'Progressing' });
    expect(
      statuses([healthy('a', '1.1.0', 1), syncing, healthy('c', '1.0.0')], 'rolling-out', ['canary', 'plants']),
    ).toEqual(['a:success', 'b:in_progress', 'c:queued']);
  });

  it('keeps a canary in progress while it soaks', () => {
    expect(statuses([healthy('a', '1.1.0', 1)], 'rolling-out', ['canary'])).toEqual([
      'a:in_progress',
      'b:queued',
      'c:queued',
    ]);
  });

  it('fails rolled-back targets and leaves the rest of a stopped rollout inactive', () => {
    const back = state({ target: 'b', version: '1.0.0', sync: 'Synced', health: 'Degraded' });
    expect(
      statuses(
        [healthy('a', '1.1.0'), back, healthy('c', '1.0.0')],
        'rolled-back',
        ['canary', 'plants'],
        'b is Degraded',
      ),
    ).toEqual(['a:success', 'b:failure', 'c:failure']);
    expect(
      statuses([healthy('a', '1.1.0'), back, healthy('c', '1.0.0')], 'rolled-back', ['canary'], 'a is Degraded'),
    ).toEqual(['a:success', 'b:inactive', 'c:inactive']);
  });

  it('keeps a finished rollout a success through later syncs, not through a failure', () => {
    const syncing = state({ target: 'b', version: '1.1.0', sync: 'OutOfSync', health: 'Progressing' });
    const degraded = state({ target: 'c', version: '1.1.0', sync: 'Synced', health: 'Degraded' });
    expect(statuses([healthy('a', '1.1.0'), syncing, degraded], 'done', ['canary', 'plants'])).toEqual([
      'a:success',
      'b:success',
      'c:failure',
    ]);
  });

  it('marks skipped targets inactive with the reason', () => {
    const [entry] = targetStatuses({
      waves,
      version: '1.1.0',
      states: new Map([['a', { ...healthy('a', '1.0.0'), skip: 'held by a person: flaky sensor' }]]),
      now: NOW,
      status: 'rolling-out',
      applied: new Set(),
    });
    expect(entry).toEqual({ target: 'a', state: 'inactive', description: 'held by a person: flaky sensor' });
  });
});

describe('planRollout after a later wave went out', () => {
  it('does not soak a passed wave again, but still rolls it back when it fails', () => {
    const resynced = healthy('a', '1.1.0', 1);
    const input = (a: TargetState) => ({
      waves,
      version: '1.1.0',
      now: NOW,
      applied: new Set(['canary', 'plants']),
      states: new Map([a, healthy('b', '1.1.0', 20), healthy('c', '1.1.0', 20)].map((entry) => [entry.target, entry])),
    });
    expect(planRollout(input(resynced))).toEqual({ kind: 'done', skipped: [] });
    expect(planRollout(input({ ...resynced, health: 'Degraded', previous: '1.0.0' }))).toEqual({
      kind: 'rollback',
      wave: 'canary',
      targets: ['a'],
      reason: 'a is Degraded',
    });
  });
});
