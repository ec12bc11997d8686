import { describe, expect, it } from 'vitest';
import {
  analysisSchema,
  judgeInterval,
  MAX_INTERVALS,
  VerdictBook,
  type IntervalReport,
  type SiteAnalysis,
} from '../../src/core/analysis.ts';
import { planRollout, type TargetState } from '../../src/core/rollout.ts';

const NOW = Date.parse('2026-12-08T12:00:00Z');
const analysis = analysisSchema.parse({ failureLimit: 3, minRequests: 10 });
const waves = [
  { name: 'canary', targets: ['a', 'b'], soakMinutes: 15 },
  { name: 'rest', targets: ['c'], soakMinutes: 15 },
];
const site = (target: string, minutesHealthy: number, verdicts?: SiteAnalysis, previous = '1.0.0'): TargetState => ({
  target,
  version: '1.1.0',
  previous,
  sync: 'Synced',
  health: 'Healthy',
  healthySince: NOW - minutesHealthy * 60_000,
  ...(verdicts && { analysis: verdicts }),
});
const passed: SiteAnalysis = { passed: 4, failed: 0, noTraffic: 0 };
const plan = (states: TargetState[], settings = analysis) =>
  planRollout({
    waves,
    version: '1.1.0',
    states: new Map(states.map((state) => [state.target, state])),
    now: NOW,
    analysis: settings,
  });

describe('judging an interval', () => {
  const report: IntervalReport = {
    model: 'pump',
    version: '1.1.0',
    site: 'a',
    interval: 3,
    requests: 200,
    errors: 0,
    p99Ms: 4,
  };
  it('passes within the thresholds and says each one missed, with its numbers', () => {
    expect(judgeInterval(report, analysis, 9)).toEqual({ verdict: 'passed' });
    expect(
      judgeInterval({ ...report, errors: 6, p99Ms: 12.34, driftPsi: 0.4 }, { ...analysis, maxDriftPsi: 0.25 }, 9),
    ).toEqual({
      verdict: 'failed',
      why: ['success rate 97.0% < 99.0% (6 of 200 failed)', 'p99 12.3 ms > the 9 ms budget', 'drift PSI 0.40 > 0.25'],
    });
    expect(judgeInterval({ ...report, requests: 9 }, analysis, 9)).toEqual({ verdict: 'no-traffic' });
  });
});

describe('a rollout with site-side analysis', () => {
  it('waits out the soak, then sends the next wave when every site passed', () => {
    expect(plan([site('a', 10, passed), site('b', 10, passed)])).toMatchObject({ kind: 'wait', wave: 'canary' });
    expect(plan([site('a', 20, passed), site('b', 20, passed)])).toEqual({
      kind: 'apply-wave',
      wave: 'rest',
      targets: ['c'],
    });
  });

  it('rolls back a site as soon as it failed the failure limit, before the soak ends', () => {
    const failing = {
      passed: 2,
      failed: 3,
      noTraffic: 0,
      lastFailure: { interval: 5, why: ['p99 31.0 ms > the 25 ms budget'] },
    };
    expect(plan([site('a', 1, passed), site('b', 1, failing)])).toEqual({
      kind: 'rollback',
      wave: 'canary',
      targets: ['b'],
      reason: 'b failed 3 analysis intervals (interval 5: p99 31.0 ms > the 25 ms budget)',
    });
    // Under the limit, a failed interval does not stop the wave.
    expect(plan([site('a', 20, passed), site('b', 20, { ...failing, failed: 2 })])).toMatchObject({
      kind: 'apply-wave',
      wave: 'rest',
    });
  });

  it('fails a site that was silent or served too little by the end of the soak, unless silence may pass', () => {
    expect(plan([site('a', 20, passed), site('b', 20)])).toEqual({
      kind: 'rollback',
      wave: 'canary',
      targets: ['b'],
      reason: 'b reported no analysis by the end of the soak',
    });
    expect(plan([site('a', 20, passed), site('b', 20, { passed: 0, failed: 0, noTraffic: 7 })])).toMatchObject({
      kind: 'rollback',
      reason: 'b served too few requests to judge (fewer than 10 in each of 7 intervals)',
    });
    // A first release has nothing to roll back to: the rollout halts.
    expect(
      plan([site('a', 20, passed), site('b', 20, undefined, '')].map(({ previous: _, ...state }) => state)),
    ).toMatchObject({
      kind: 'halt',
      reason: 'b reported no analysis by the end of the soak; it ran no earlier release to roll back to',
    });
    // Silence may pass: then the share decides.
    const lenient = { ...analysis, passOnNoTraffic: true, passShare: 0.5 };
    expect(plan([site('a', 20, passed), site('b', 20)], lenient)).toMatchObject({ kind: 'apply-wave', wave: 'rest' });
    expect(plan([site('a', 20), site('b', 20)], lenient)).toEqual({
      kind: 'halt',
      wave: 'canary',
      reason: '0 of 2 sites passed their analysis, fewer than the 50% needed; the others served too little to judge',
    });
  });

  it('names ten failing sites and counts the rest', () => {
    const many = Array.from({ length: 25 }, (_, index) => site(`s${index}`, 20));
    const step = planRollout({
      waves: [{ name: 'all', targets: many.map((state) => state.target), soakMinutes: 15 }],
      version: '1.1.0',
      states: new Map(many.map((state) => [state.target, state])),
      now: NOW,
      analysis,
    });
    expect(step).toMatchObject({
      kind: 'rollback',
      reason: expect.stringMatching(/s9 reported no analysis by the end of the soak and 15 more$/) as string,
    });
  });
});

describe('the verdict book', () => {
  const report = (site: string, interval: number, version = '1.1.0'): IntervalReport => ({
    model: 'pump',
    version,
    site,
    interval,
    requests: 100,
    errors: 0,
  });

  it('counts each interval of a site and release once, bounds a site, and keeps the newest releases', () => {
    const book = new VerdictBook();
    expect(book.record('Acme/Pump', report('a', 0), { verdict: 'passed' })).toBe(true);
    expect(book.record('acme/pump', report('a', 0), { verdict: 'failed', why: ['x'] })).toBe(false);
    book.record('acme/pump', report('a', 1), { verdict: 'failed', why: ['p99 12 ms > the 9 ms budget'] });
    expect(book.summary('ACME/pump', 'pump', '1.1.0', ['a', 'b'])).toEqual(
      new Map([
        [
          'a',
          { passed: 1, failed: 1, noTraffic: 0, lastFailure: { interval: 1, why: ['p99 12 ms > the 9 ms budget'] } },
        ],
      ]),
    );
    for (let interval = 2; interval < MAX_INTERVALS + 10; interval += 1)
      book.record('acme/pump', report('a', interval), { verdict: 'passed' });
    expect(book.summary('acme/pump', 'pump', '1.1.0', ['a']).get('a')?.passed).toBe(MAX_INTERVALS - 1);
    for (const version of ['1.2.0', '1.3.0', '1.4.0'])
      book.record('acme/pump', report('a', 0, version), { verdict: 'passed' });
    expect(book.summary('acme/pump', 'pump', '1.1.0', ['a']).size).toBe(0);
    expect(book.summary('acme/pump', 'pump', '1.4.0', ['a']).size).toBe(1);
  });
});
