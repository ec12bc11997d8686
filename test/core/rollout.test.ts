import { describe, expect, it } from 'vitest';
import { planRollout, type TargetState } from '../../src/core/rollout.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const MIN = 60_000;
const waves = [
  { name: 'canary', targets: ['a'], soakMinutes: 15 },
  { name: 'plants', targets: ['b', 'c'], soakMinutes: 10 },
];
/** A target state, typed where the table would widen its literals. */
const state = (value: TargetState): TargetState => value;
const healthy = (target: string, version: string, minutes = 60): TargetState => ({ target, version, sync: 'Synced', health: 'Healthy', healthySince: NOW - minutes * MIN });
const plan = (states: TargetState[], previous: string | null = '1.0.0') =>
  planRollout({ waves, version: '1.1.0', ...(previous && { previous }), states: new Map(states.map((state) => [state.target, state])), now: NOW });

describe('planRollout', () => {
  it.each([
    ['starts with the canary wave', [healthy('a', '1.0.0'), healthy('b', '1.0.0'), healthy('c', '1.0.0')], { kind: 'apply-wave', wave: 'canary', targets: ['a'] }],
    ['waits while the canary syncs', [state({ target: 'a', version: '1.1.0', sync: 'OutOfSync', health: 'Progressing' })], { kind: 'wait', wave: 'canary', reason: 'a OutOfSync/Progressing' }],
    ['soaks a healthy canary', [healthy('a', '1.1.0', 5)], { kind: 'wait', wave: 'canary', reason: 'soaking until 2026-11-26T12:10:00.000Z (15 min Healthy)' }],
    ['moves to the next wave after the soak', [healthy('a', '1.1.0', 15), healthy('b', '1.0.0'), healthy('c', '1.1.0')], { kind: 'apply-wave', wave: 'plants', targets: ['b'] }],
    ['rolls back a Degraded wave to the last good release', [healthy('a', '1.1.0'), healthy('b', '1.1.0'), state({ target: 'c', version: '1.1.0', sync: 'Synced', health: 'Degraded' })], { kind: 'rollback', wave: 'plants', targets: ['c'], to: '1.0.0', reason: 'c is Degraded' }],
    ['rolls back a failed sync', [state({ target: 'a', version: '1.1.0', sync: 'OutOfSync', health: 'Healthy', syncFailed: true })], { kind: 'rollback', wave: 'canary', targets: ['a'], to: '1.0.0', reason: 'a failed to sync' }],
    ['is done when every wave soaked', [healthy('a', '1.1.0'), healthy('b', '1.1.0'), healthy('c', '1.1.0')], { kind: 'done', skipped: [] }],
    ['treats a target Argo CD does not know as not ready', [healthy('a', '1.1.0'), healthy('b', '1.1.0'), state({ target: 'c', version: '1.1.0', sync: 'Unknown', health: 'Missing' })], { kind: 'wait', wave: 'plants', reason: 'c Unknown/Missing' }],
  ])('%s', (_case, states, step) => {
    expect(plan(states)).toEqual(step);
  });

  it('halts a first release that degrades: there is nothing to roll back to', () => {
    expect(plan([{ target: 'a', version: '1.1.0', sync: 'Synced', health: 'Degraded' }], null)).toEqual({ kind: 'halt', wave: 'canary', reason: 'a is Degraded; no earlier release to roll back to' });
  });

  it('leaves pinned targets alone and says so', () => {
    const pinned: TargetState = { ...healthy('a', '1.0.0'), pinned: true };
    expect(plan([pinned, healthy('b', '1.0.0'), healthy('c', '1.0.0')])).toEqual({ kind: 'apply-wave', wave: 'plants', targets: ['b', 'c'] });
    expect(plan([pinned, healthy('b', '1.1.0'), healthy('c', '1.1.0')])).toEqual({ kind: 'done', skipped: ['a'] });
  });
});
