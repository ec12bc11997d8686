import { describe, expect, it } from 'vitest';
import {
  ADAPTIVE_DEFAULTS,
  decide,
  type AdaptiveEstimates,
  type AdaptiveState,
} from '../../src/core/adaptive-routing.ts';

const SETTINGS = { ...ADAPTIVE_DEFAULTS, budgetMs: 10 };
const CALM: AdaptiveEstimates = {
  localMs: 4,
  cloudMs: 7,
  cloudFailing: false,
  cpuPressure: 0.05,
  memoryPressure: 0,
  throttled: undefined,
  localCpu: 0.2,
  localLoad: undefined,
};
const LOCAL: AdaptiveState = { path: 'local', reason: 'start', since: 0 };
const CLOUD: AdaptiveState = { path: 'cloud', reason: 'cpu-pressure', since: 0 };
/** Long enough on the path for a switch. */
const LATER = 60_000;

describe('adaptive routing: per request, local or the cloud of the same version', () => {
  it.each([
    ['calm gateway, local within budget', LOCAL, CALM, 'local', 'start'],
    ['local over the budget, cloud fits', LOCAL, { ...CALM, localMs: 14 }, 'cloud', 'local-over-budget'],
    ['CPU pressure over its limit', LOCAL, { ...CALM, cpuPressure: 0.6 }, 'cloud', 'cpu-pressure'],
    ['memory pressure over its limit', LOCAL, { ...CALM, memoryPressure: 0.3 }, 'cloud', 'memory-pressure'],
    ['the container CPU-throttled', LOCAL, { ...CALM, throttled: 0.5 }, 'cloud', 'cpu-throttled'],
    ['inference would take more than maxLocalCpu', LOCAL, { ...CALM, localCpu: 0.7 }, 'cloud', 'local-cpu-ceiling'],
    [
      'local over the budget, but the cloud does not fit either',
      LOCAL,
      { ...CALM, localMs: 14, cloudMs: 12 },
      'local',
      'start',
    ],
    [
      'local over the budget, the cloud too but faster by the margin',
      LOCAL,
      { ...CALM, localMs: 30, cloudMs: 12 },
      'cloud',
      'local-over-budget',
    ],
    [
      'local over the budget, the cloud faster, but failing',
      LOCAL,
      { ...CALM, localMs: 30, cloudMs: 12, cloudFailing: true },
      'local',
      'start',
    ],
    ['pressure, but the cloud is failing', LOCAL, { ...CALM, cpuPressure: 0.9, cloudFailing: true }, 'local', 'start'],
    [
      'pressure, and the cloud not measured yet',
      LOCAL,
      { ...CALM, cpuPressure: 0.9, cloudMs: undefined },
      'local',
      'start',
    ],
    ['cloud, pressure gone by the margin', CLOUD, { ...CALM, cpuPressure: 0.3 }, 'local', 'local-fits'],
    [
      'cloud, pressure under the limit but not by the margin',
      CLOUD,
      { ...CALM, cpuPressure: 0.35 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud, local latency under the budget but not by the margin',
      CLOUD,
      { ...CALM, localMs: 9 },
      'cloud',
      'cpu-pressure',
    ],
    ['cloud, no recent local latency', CLOUD, { ...CALM, localMs: undefined }, 'cloud', 'cpu-pressure'],
    [
      'cloud, calm, but the whole rate would overload local (lone probes fit)',
      CLOUD,
      { ...CALM, localLoad: 1.4 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud, calm, the whole rate would load local under the limit but not by the margin',
      CLOUD,
      { ...CALM, localLoad: 0.9 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud, calm, the whole rate would load local inside the limit by the margin',
      CLOUD,
      { ...CALM, localLoad: 0.6 },
      'local',
      'local-fits',
    ],
    ['cloud failing', CLOUD, { ...CALM, cpuPressure: 0.9, cloudFailing: true }, 'local', 'cloud-failing'],
    [
      'cloud over the budget, local within it by the margin, under CPU pressure',
      CLOUD,
      { ...CALM, cpuPressure: 0.9, cloudMs: 15, localMs: 8 },
      'local',
      'cloud-over-budget',
    ],
    [
      'cloud over the budget, local within it, but the whole rate would overload it',
      CLOUD,
      { ...CALM, cpuPressure: 0.9, cloudMs: 15, localMs: 8, localLoad: 1.4 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud over the budget, local within it, but over the CPU ceiling',
      CLOUD,
      { ...CALM, cpuPressure: 0.9, localCpu: 0.7, cloudMs: 15, localMs: 8 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'both over the budget, local faster by the margin, the gateway calm',
      CLOUD,
      { ...CALM, cloudMs: 15, localMs: 12 },
      'local',
      'cloud-over-budget',
    ],
    [
      'both over the budget, local faster, but the whole rate would overload it',
      CLOUD,
      { ...CALM, cloudMs: 15, localMs: 12, localLoad: 1.4 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'both over the budget, local faster, but under CPU pressure',
      CLOUD,
      { ...CALM, cpuPressure: 0.9, cloudMs: 15, localMs: 12 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud over the budget, local faster but not by the margin',
      CLOUD,
      { ...CALM, cpuPressure: 0.35, cloudMs: 15, localMs: 13 },
      'cloud',
      'cpu-pressure',
    ],
    [
      'cloud over the budget, local slower still',
      CLOUD,
      { ...CALM, cloudMs: 15, localMs: 30 },
      'cloud',
      'cpu-pressure',
    ],
  ])('%s', (_, state, estimates, path, reason) => {
    const decision = decide(state, estimates, SETTINGS, LATER);
    expect({ path: decision.path, reason: decision.reason }).toEqual({ path, reason });
    expect(decision.switched).toBe(path !== state.path);
    expect(decision.why.length).toBeGreaterThan(10);
  });

  it('waits out the dwell time before switching, unless the path in use fails outright', () => {
    const justSwitched = { ...LOCAL, since: LATER - 1000 };
    // Over the budget by a little: wait.
    const waiting = decide(justSwitched, { ...CALM, localMs: 14 }, SETTINGS, LATER);
    expect(waiting).toMatchObject({ path: 'local', switched: false });
    expect(waiting.why).toContain('switching once 15 s on this path are over');
    // Over twice the budget: at once.
    expect(decide(justSwitched, { ...CALM, localMs: 25 }, SETTINGS, LATER)).toMatchObject({
      path: 'cloud',
      switched: true,
      since: LATER,
    });
    // Back from the cloud: only after the dwell time, except when the cloud fails or misses the budget local meets.
    const inCloud = { ...CLOUD, since: LATER - 1000 };
    expect(decide(inCloud, CALM, SETTINGS, LATER)).toMatchObject({ path: 'cloud', switched: false });
    expect(decide(inCloud, { ...CALM, cloudFailing: true }, SETTINGS, LATER)).toMatchObject({
      path: 'local',
      reason: 'cloud-failing',
    });
    expect(decide(inCloud, { ...CALM, cpuPressure: 0.9, cloudMs: 15, localMs: 8 }, SETTINGS, LATER)).toMatchObject({
      path: 'local',
      reason: 'cloud-over-budget',
    });
    expect(decide(inCloud, { ...CALM, cpuPressure: 0.9, cloudMs: 11, localMs: 8 }, SETTINGS, LATER)).toMatchObject({
      path: 'cloud',
      switched: false,
    });
    // Back because the cloud missed the budget: pressure alone does not send requests there for 60 s.
    const burnt = { path: 'local' as const, reason: 'cloud-over-budget' as const, since: LATER - 20_000 };
    expect(decide(burnt, { ...CALM, cpuPressure: 0.9 }, SETTINGS, LATER)).toMatchObject({
      path: 'local',
      switched: false,
    });
    expect(decide(burnt, { ...CALM, cpuPressure: 0.9 }, SETTINGS, LATER + 40_000)).toMatchObject({
      path: 'cloud',
      reason: 'cpu-pressure',
    });
  });

  it('holds a path twice as long after the one before was left before its hold was over, up to four dwell times, and 15 s again once a path is kept twice its hold', () => {
    // Back in local 5 s ago: local is at three times the budget, so it leaves at once.
    const back = { path: 'local' as const, reason: 'local-fits' as const, since: LATER - 5_000 };
    const left = decide(back, { ...CALM, localMs: 30 }, SETTINGS, LATER);
    expect(left).toMatchObject({ path: 'cloud', reason: 'local-over-budget', holdMs: 30_000 });
    expect(left.why).toContain(
      '(held 30 s: the last path was left 5 s after it was taken, before its 15 s hold was over)',
    );
    // Calm: the cloud is held 30 s, not 15.
    expect(decide(left, CALM, SETTINGS, LATER + 20_000)).toMatchObject({ path: 'cloud', switched: false });
    // The cloud misses the budget by the margin 10 s in: back at once, and local is held 60 s.
    const forced = decide(left, { ...CALM, cloudMs: 13, localMs: 5 }, SETTINGS, LATER + 10_000);
    expect(forced).toMatchObject({ path: 'local', reason: 'cloud-over-budget', holdMs: 60_000 });
    // Doubling stops at four dwell times.
    expect(decide(forced, { ...CALM, localMs: 30 }, SETTINGS, LATER + 11_000)).toMatchObject({
      path: 'cloud',
      holdMs: 60_000,
    });
    // A path kept for its hold, but not twice that: the next keeps the hold; kept twice its hold, the next is held for the dwell time again.
    const keptHold = decide(forced, { ...CALM, localMs: 30 }, SETTINGS, LATER + 10_000 + 60_000);
    expect(keptHold).toMatchObject({ path: 'cloud', holdMs: 60_000 });
    expect(keptHold.why).toContain('(held 60 s: as the last path, kept 60 s, under twice its hold)');
    expect(decide(forced, { ...CALM, localMs: 30 }, SETTINGS, LATER + 10_000 + 120_000)).toMatchObject({
      path: 'cloud',
      holdMs: 15_000,
    });
  });

  /** Switches over 10 minutes of decisions every 100 ms, with the estimates `at` gives for each moment. */
  const switchesIn10Minutes = (at: (now: number) => AdaptiveEstimates) => {
    let state: AdaptiveState = LOCAL;
    let switches = 0;
    for (let now = 0; now < 10 * 60_000; now += 100) {
      const decision = decide(state, at(now), SETTINGS, now);
      if (decision.switched) switches += 1;
      state = decision;
    }
    return switches;
  };

  it.each([
    // Pressure on and off every other decision: the worst case for flapping.
    ['the signals flap every 100 ms', (now: number) => ({ ...CALM, cpuPressure: (now / 100) % 2 === 0 ? 0.9 : 0.05 })],
    // Pressure all along; the cloud 6 ms for a second, then 13 ms for a second (budget 10 ms).
    [
      "the cloud's estimate swings across the budget under steady pressure",
      (now: number) => ({ ...CALM, cpuPressure: 0.9, cloudMs: Math.floor(now / 1000) % 2 === 0 ? 6 : 13 }),
    ],
    // Local 5 ms for a second, then 30 ms (three times the budget) for a second; the cloud 12 ms: over the budget, but faster than local at its worst.
    [
      'local swings across the budget and the cloud, over it too, is faster than local at its worst',
      (now: number) => ({ ...CALM, localMs: Math.floor(now / 1000) % 2 === 0 ? 5 : 30, cloudMs: 12 }),
    ],
  ])('switches fewer than 5 times a minute when %s', (_, at) => {
    const switches = switchesIn10Minutes(at);
    expect(switches / 10).toBeLessThan(5);
    expect(switches).toBeGreaterThan(0);
  });

  it('names the estimates and the rule in its reason', () => {
    expect(decide(LOCAL, { ...CALM, localCpu: 0.7 }, SETTINGS, LATER).why).toBe(
      "inference would take 70% of the gateway's CPU (maxLocalCpu 50%); cloud 7.00 ms fits: to the cloud",
    );
    expect(decide(CLOUD, { ...CALM, cpuPressure: 0.35 }, SETTINGS, LATER).why).toBe(
      'CPU pressure 35% (limit 40%), not inside the limit by the 20% margin: staying in the cloud',
    );
  });
});
