/**
 * The per-request offloading decision of an `adaptive` site, as a pure function of live
 * estimates: which path (the local model or the cloud endpoint of the same version) is expected
 * to answer within the target's budget without starving the gateway's other services. Kept free
 * of clocks and I/O so every rule is tested with injected estimates.
 */

export type AdaptivePath = 'local' | 'cloud';

/** Why the router is on its path: a fixed set, so metrics labels stay few. */
export type AdaptiveReason =
  | 'start'
  | 'local-over-budget'
  | 'cpu-pressure'
  | 'memory-pressure'
  | 'cpu-throttled'
  | 'local-cpu-ceiling'
  | 'local-overloaded'
  | 'cloud-failing'
  | 'cloud-over-budget'
  | 'local-fits';

export interface AdaptiveSettings {
  budgetMs: number;
  /** Share of the gateway's CPU (all cores = 1) inference may use. */
  maxLocalCpu: number;
  /** Share of time some task waited for CPU (PSI) from which the gateway counts as busy. */
  cpuPressure: number;
  /** Share of time some task waited for memory (PSI) from which the gateway counts as busy. */
  memoryPressure: number;
  /** Share of time the container's CPU quota was exhausted from which it counts as throttled. */
  throttled: number;
  /** Hysteresis: a path is taken back only once every signal is inside its limit by this share. */
  margin: number;
  /** Least time on a path before another switch, unless the path is failing outright. */
  dwellMs: number;
}

export const ADAPTIVE_DEFAULTS: Omit<AdaptiveSettings, 'budgetMs'> = {
  maxLocalCpu: 0.5,
  cpuPressure: 0.4,
  memoryPressure: 0.1,
  throttled: 0.2,
  margin: 0.2,
  dwellMs: 15_000,
};

/** What the router knows at the moment of a decision. */
export interface AdaptiveEstimates {
  /** Expected local latency (recent p99 and the queue ahead), or undefined with no recent samples. */
  localMs: number | undefined;
  /** Recent p99 of cloud round trips, or undefined with no recent samples. */
  cloudMs: number | undefined;
  /** Whether the cloud failed or timed out recently. */
  cloudFailing: boolean;
  /** PSI "some" shares over the last sampling interval (0–1), undefined where the kernel has none. */
  cpuPressure: number | undefined;
  memoryPressure: number | undefined;
  /** Share of the last interval the cgroup's CPU quota was exhausted, undefined without a quota. */
  throttled: number | undefined;
  /** The share of the gateway's CPU inference would take if every request ran locally. */
  localCpu: number | undefined;
  /**
   * While requests go to the cloud: the share of the local path's capacity they would take if
   * they came back (request rate × a lone local run's median time, as probes measure it, 1 = full).
   * A lone probe measures an idle path; under load the queue adds to it, without bound past 1.
   * Undefined while requests run locally: their latencies already include the queue.
   */
  localLoad: number | undefined;
}

export interface AdaptiveState {
  path: AdaptivePath;
  reason: AdaptiveReason;
  /** When the router took this path (ms, the caller's clock). */
  since: number;
  /**
   * How long this path is held before a switch nothing forces (the dwell time unless said): twice
   * the last hold, up to four dwell times, when the path before was left before its hold was
   * over; the last hold again when it was kept less than twice its hold.
   */
  holdMs?: number;
}

export interface AdaptiveDecision extends AdaptiveState {
  /** Whether this decision changed the path. */
  switched: boolean;
  /** One line for the decision log: the estimates and the rule that decided. */
  why: string;
}

interface Signal {
  reason: Exclude<AdaptiveReason, 'start' | 'cloud-failing' | 'cloud-over-budget' | 'local-fits'>;
  value: number | undefined;
  limit: number;
  text: string;
}

const ms = (value: number | undefined) => (value === undefined ? 'unknown' : `${value.toFixed(2)} ms`);
const pct = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value * 100)}%`);

/** The signals that make the local path a bad choice, each with its limit. */
function signalsOf(estimates: AdaptiveEstimates, settings: AdaptiveSettings): Signal[] {
  return [
    {
      reason: 'local-over-budget',
      value: estimates.localMs,
      limit: settings.budgetMs,
      text: `local ${ms(estimates.localMs)} against the ${ms(settings.budgetMs)} budget`,
    },
    {
      reason: 'cpu-pressure',
      value: estimates.cpuPressure,
      limit: settings.cpuPressure,
      text: `CPU pressure ${pct(estimates.cpuPressure)} (limit ${pct(settings.cpuPressure)})`,
    },
    {
      reason: 'memory-pressure',
      value: estimates.memoryPressure,
      limit: settings.memoryPressure,
      text: `memory pressure ${pct(estimates.memoryPressure)} (limit ${pct(settings.memoryPressure)})`,
    },
    {
      reason: 'cpu-throttled',
      value: estimates.throttled,
      limit: settings.throttled,
      text: `CPU throttled ${pct(estimates.throttled)} of the time (limit ${pct(settings.throttled)})`,
    },
    {
      reason: 'local-cpu-ceiling',
      value: estimates.localCpu,
      limit: settings.maxLocalCpu,
      text: `inference would take ${pct(estimates.localCpu)} of the gateway's CPU (maxLocalCpu ${pct(settings.maxLocalCpu)})`,
    },
    {
      reason: 'local-overloaded',
      value: estimates.localLoad,
      limit: 1,
      text: `every request run locally would take ${pct(estimates.localLoad)} of the local path's capacity`,
    },
  ];
}

/**
 * The path for the next request. From local, the router leaves for the cloud when a signal is
 * over its limit and the cloud is known to answer within the budget by the margin, or, local
 * being over the budget, when the cloud is faster by the margin. From the cloud, it comes back
 * once every signal is inside its limit by the margin (a local path the whole request rate would
 * overload counts as over); when the cloud no longer fits and local does (by the margin, under
 * the CPU ceiling), at once if the cloud misses by the margin; or, both over the budget, when the
 * gateway is calm and local is faster by the margin. A switch waits out the path's hold (the
 * dwell time; doubled, up to four dwell times, when the path before was left before its hold was
 * over; the dwell time again once a path is kept twice its hold) unless the path in use is
 * failing outright: a failing cloud, a cloud over the budget by the margin, or a local estimate
 * over twice the budget.
 */
export function decide(
  state: AdaptiveState,
  estimates: AdaptiveEstimates,
  settings: AdaptiveSettings,
  now: number,
): AdaptiveDecision {
  const { budgetMs, margin, dwellMs } = settings;
  const { localMs, cloudMs } = estimates;
  const held = state.holdMs ?? dwellMs;
  const kept = now - state.since;
  const dwelt = kept >= held;
  const stay = (why: string): AdaptiveDecision => ({ ...state, switched: false, why });
  const go = (path: AdaptivePath, reason: AdaptiveReason, why: string): AdaptiveDecision => {
    // Damping: a path left before its hold was over (it failed outright soon after it was taken)
    // doubles the hold of the next; the hold stays until a path is kept for twice its hold.
    const quick = state.reason !== 'start' && kept < held;
    const holdMs = quick ? Math.min(2 * held, 4 * dwellMs) : kept >= 2 * held ? dwellMs : held;
    const damped = quick
      ? `the last path was left ${Math.round(kept / 1000)} s after it was taken, before its ${Math.round(held / 1000)} s hold was over`
      : `as the last path, kept ${Math.round(kept / 1000)} s, under twice its hold`;
    return {
      path,
      reason,
      since: now,
      holdMs,
      switched: true,
      why: holdMs > dwellMs ? `${why} (held ${Math.round(holdMs / 1000)} s: ${damped})` : why,
    };
  };
  const signals = signalsOf(estimates, settings);
  const over = (signal: Signal, limit = signal.limit) => signal.value !== undefined && signal.value > limit;
  // Hysteresis on the cloud too: it must fit by the margin to be left for, and miss by it to be left at once.
  const cloudFits = !estimates.cloudFailing && cloudMs !== undefined && cloudMs <= budgetMs / (1 + margin);
  const cloudText = estimates.cloudFailing ? 'the cloud is failing' : `cloud ${ms(cloudMs)}`;
  if (state.path === 'local') {
    const reason = signals.find((signal) => over(signal));
    if (!reason) return stay(`every signal within its limit (${signals[0]?.text}, ${cloudText})`);
    // Local over the budget, the cloud too: the faster of the two, by the margin.
    const cloudFaster =
      reason.reason === 'local-over-budget' &&
      !estimates.cloudFailing &&
      cloudMs !== undefined &&
      cloudMs * (1 + margin) < (localMs as number);
    if (!cloudFits && !cloudFaster)
      return stay(
        `${reason.text}, but ${estimates.cloudFailing ? 'the cloud is failing' : `the cloud (${ms(cloudMs)}) is not known to fit the budget by the ${pct(margin)} margin, nor to be faster by it`}: staying local`,
      );
    // A cloud that just missed the budget is not tried again for pressure alone for four dwell times.
    const burnt = state.reason === 'cloud-over-budget' && kept < 4 * dwellMs;
    if (burnt && reason.reason !== 'local-over-budget')
      return stay(
        `${reason.text}, but the cloud missed the budget ${Math.round(kept / 1000)} s ago: staying local for ${Math.round((4 * dwellMs) / 1000)} s after that`,
      );
    const severe = reason.reason === 'local-over-budget' && (localMs as number) > 2 * budgetMs;
    const better = cloudFits ? `${cloudText} fits` : `${cloudText} is faster by more than the ${pct(margin)} margin`;
    if (!dwelt && !severe)
      return stay(`${reason.text}; ${better}, switching once ${Math.round(held / 1000)} s on this path are over`);
    return go('cloud', reason.reason, `${reason.text}; ${better}: to the cloud`);
  }
  if (estimates.cloudFailing) return go('local', 'cloud-failing', 'the cloud is failing: back to local');
  // The budget comes first: a cloud that no longer answers in time sends requests back to a local
  // path that does (by the margin, the whole request rate included), whatever the pressure, as
  // long as inference stays under the CPU ceiling; at once when the cloud misses by the margin.
  // Pressure was a reason to leave only while the cloud met the budget.
  const cloudOver = cloudMs !== undefined && cloudMs > budgetMs;
  const ceiling = signals.find((signal) => signal.reason === 'local-cpu-ceiling' && over(signal));
  const overloaded = signals.find(
    (signal) => signal.reason === 'local-overloaded' && over(signal, signal.limit / (1 + margin)),
  );
  const localFits = localMs !== undefined && localMs <= budgetMs / (1 + margin) && !overloaded;
  const cloudMisses = cloudMs !== undefined && cloudMs > budgetMs * (1 + margin);
  if (cloudOver && localFits && !ceiling && (cloudMisses || dwelt))
    return go(
      'local',
      'cloud-over-budget',
      `${cloudText} is over the ${ms(budgetMs)} budget and local (${ms(localMs)}) is within it by the ${pct(margin)} margin: back to local`,
    );
  // Both over the budget: the faster path, by the margin, on a calm gateway only.
  const pressed = signals.find((signal) => signal.reason !== 'local-over-budget' && over(signal));
  const localFaster = localMs !== undefined && cloudMs !== undefined && localMs * (1 + margin) < cloudMs && !overloaded;
  if (cloudOver && localFaster && !pressed && dwelt)
    return go(
      'local',
      'cloud-over-budget',
      `${cloudText} is over the ${ms(budgetMs)} budget and local (${ms(localMs)}) is faster by more than the ${pct(margin)} margin: back to local`,
    );
  const blocking = signals.find((signal) =>
    signal.value === undefined ? signal.reason === 'local-over-budget' : over(signal, signal.limit / (1 + margin)),
  );
  if (blocking)
    return stay(
      `${blocking.value === undefined ? 'no recent local latency' : `${blocking.text}, not inside the limit by the ${pct(margin)} margin`}: staying in the cloud`,
    );
  if (!dwelt)
    return stay(
      `every signal inside its limit by the margin; back to local once ${Math.round(held / 1000)} s on this path are over`,
    );
  return go(
    'local',
    'local-fits',
    `every signal inside its limit by the ${pct(margin)} margin (${signals[0]?.text}): back to local`,
  );
}
