import { describe, expect, it } from 'vitest';
import { calibrate, nominalReferenceRunMs } from '../../src/core/calibration.ts';
import { estimateP95, HOST_NOISE_BOUND } from '../../src/core/stats.ts';

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

  it("holds runs the host stalled at the bound, so a saturated host gives the quiet host's p95", () => {
    // Shaped like the example's larger model on a 2-vCPU host: 60 runs a round, 1.5–1.6 ms quiet;
    // under stress-ng --cpu 2 the fastest tenth moves a little and a third of the runs stall 5–35 ms.
    const quietRound = Array.from({ length: 60 }, (_, index) => 1.5 + (index % 10) / 100);
    const stalledRound = (seed: number) =>
      Array.from({ length: 60 }, (_, index) =>
        index % 3 === seed ? 5 + ((index * 7) % 30) : 1.7 + (index % 10) / 100,
      );
    const quietRounds = Array.from({ length: 5 }, () => quietRound);
    const busyRounds = [0, 1, 2, 0, 1].map(stalledRound);
    const quietEstimate = estimateP95(quietRounds, 0.5, HOST_NOISE_BOUND);
    const busyEstimate = estimateP95(busyRounds, 0.5, HOST_NOISE_BOUND);
    // Quiet runs are all within the bound: the estimate is the plain p95, nothing held.
    expect(quietEstimate).toMatchObject({ p95Ms: estimateP95(quietRounds, 0.5).p95Ms, stalledShare: 0 });
    // Busy: a third held at 1.25 × the round's p10; the estimate moves with the p10 (+13%), not with the stalls.
    expect(busyEstimate.stalledShare).toBeCloseTo(1 / 3, 9);
    expect(busyEstimate.p95Ms / quietEstimate.p95Ms).toBeLessThan(1.5);
    expect(busyEstimate.stable).toBe(true);
    // Without the bound (a device measuring itself), the stalls are the p95.
    expect(estimateP95(busyRounds, 0.5).p95Ms).toBeGreaterThan(25);
  });

  it('has a nominal time for every thread count', () => {
    expect([1, 2, 3, 8].map(nominalReferenceRunMs)).toEqual([0.145, 0.187, 0.187, 0.187]);
  });
});
