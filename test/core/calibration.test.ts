import { describe, expect, it } from 'vitest';
import { calibrate, nominalReferenceRunMs } from '../../src/core/calibration.ts';
import { estimateP95 } from '../../src/core/stats.ts';

describe('calibration against the reference workload', () => {
  // A model whose runs take 2 ms on the nominal host, where the reference takes 0.34 ms a run.
  const quiet = Array.from({ length: 5 }, () => [1.9, 2, 2, 2.1, 2.2]);

  it('gives the same device estimate on a host twice as slow for a minute as on a quiet one', () => {
    const slowMinute = quiet.map((round, index) =>
      index >= 1 && index <= 3 ? round.map((latency) => latency * 2) : round,
    );
    const reference = [0.34, 0.68, 0.68, 0.68, 0.34];
    const calibrated = calibrate(slowMinute, reference, 0.34, 0.5);
    expect(estimateP95(calibrated.rounds, 0.5).p95Ms).toBeCloseTo(estimateP95(quiet, 0.5).p95Ms, 9);
    // Uncalibrated, the slow minute doubles the estimate.
    expect(estimateP95(slowMinute, 0.5).p95Ms).toBeCloseTo(2 * estimateP95(quiet, 0.5).p95Ms, 9);
    // The reference's own spread says the load changed between rounds.
    expect(calibrated.calibration).toEqual({ nominalRunMs: 0.34, hostRunMs: 0.68, spread: 0.5, stable: true });
    const unsettled = calibrate(slowMinute, [0.34, 1.02, 0.68, 0.68, 0.34], 0.34, 0.5).calibration;
    expect(unsettled.spread).toBeCloseTo(1, 9);
    expect(unsettled.stable).toBe(false);
  });

  it('scales a whole run on a host faster than the nominal one to the nominal host', () => {
    const fast = quiet.map((round) => round.map((latency) => latency / 3));
    const { rounds } = calibrate(fast, Array<number>(5).fill(0.34 / 3), 0.34, 0.5);
    rounds.flat().forEach((latency, index) => expect(latency).toBeCloseTo(quiet.flat()[index] as number, 9));
  });

  it('refuses reference times that do not match the rounds', () => {
    expect(() => calibrate(quiet, [0.34], 0.34, 0.5)).toThrow(
      'calibration needs one positive reference time per round, found 1 for 5 rounds',
    );
    expect(() => calibrate(quiet, [0.34, 0.34, 0, 0.34, 0.34], 0.34, 0.5)).toThrow(RangeError);
  });

  it('has a nominal time for every thread count', () => {
    expect([1, 2, 3, 8].map(nominalReferenceRunMs)).toEqual([0.145, 0.22, 0.22, 0.22]);
  });
});
