import {
  decide,
  type AdaptiveDecision,
  type AdaptiveEstimates,
  type AdaptivePath,
  type AdaptiveSettings,
  type AdaptiveState,
} from '../core/adaptive-routing.ts';
import type { Logger } from '../ports.ts';
import type { PressureSample } from './gateway-pressure.ts';
import type { ServingMetrics } from './metrics.ts';

/** Latencies of one path in a ring of the most recent, with their times; percentiles over the recent ones. */
export class LatencyWindow {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;

  constructor(
    capacity: number,
    private readonly windowMs: number,
  ) {
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
  }

  add(valueMs: number, now: number): void {
    this.values[this.next] = valueMs;
    this.times[this.next] = now;
    this.next = (this.next + 1) % this.values.length;
    this.size = Math.min(this.size + 1, this.values.length);
  }

  /** The p-th percentile (nearest rank) of the samples of the last window, or undefined when there are fewer than `least`. */
  percentile(p: number, now: number, least = 5): number | undefined {
    const recent: number[] = [];
    for (let index = 0; index < this.size; index += 1)
      if (now - (this.times[index] as number) <= this.windowMs) recent.push(this.values[index] as number);
    if (recent.length < least) return undefined;
    recent.sort((a, b) => a - b);
    return recent[Math.min(recent.length - 1, Math.ceil((p / 100) * recent.length) - 1)];
  }
}

export interface RouterOptions extends AdaptiveSettings {
  /** Share of requests also sent, answer discarded, to the path not in use, so its estimate stays fresh. */
  probeShare: number;
  /** How far back latencies count. */
  windowMs: number;
  /** How long a cloud failure or timeout counts as "the cloud is failing". */
  failHoldMs: number;
}

export interface RouterDeps {
  now: () => number;
  /** The gateway's pressure since the last call (GatewayPressure#sample). */
  pressure: () => PressureSample;
  metrics: ServingMetrics;
  model: string;
  log: Logger;
}

/** Each path is judged by its recent p99: the budget is to hold for 99 requests in 100, not 95. */
const ESTIMATE_PERCENTILE = 99;
const DECIDE_EVERY_MS = 100;
const SAMPLE_EVERY_MS = 250;
const LOG_EVERY_MS = 60_000;

/**
 * Routes each infer request of an `adaptive` site to the local model or to the cloud endpoint of
 * the same version. Estimates are kept cheaply: latencies in two small rings, the gateway's
 * pressure sampled four times a second, the path decided at most every 100 ms (core/adaptive-routing.ts
 * holds the rules). Shadow probes (answers discarded) keep the path not in use measured. Metrics
 * show the share routed each way, the estimates and the reason; the log says each switch and,
 * once a minute, a summary.
 */
export class AdaptiveRouter {
  private state: AdaptiveState;
  private readonly local: LatencyWindow;
  private readonly cloud: LatencyWindow;
  private localInFlight = 0;
  private probing = false;
  private requests = 0;
  private cloudFailedAt = -Infinity;
  private decidedAt = -Infinity;
  private sampledAt: number;
  private loggedAt: number;
  private pressure: PressureSample | undefined;
  /** CPU per request while requests ran locally (share of the gateway × seconds, moving average). */
  private cpuPerRequest: number | undefined;
  /** Requests per second over the last sampling interval. */
  private rate = 0;
  private interval = { requests: 0, local: 0 };
  private routed = { local: 0, cloud: 0 };
  private last: AdaptiveDecision | undefined;

  constructor(
    private readonly options: RouterOptions,
    private readonly deps: RouterDeps,
  ) {
    const now = deps.now();
    this.state = { path: 'local', reason: 'start', since: now };
    this.local = new LatencyWindow(256, options.windowMs);
    this.cloud = new LatencyWindow(256, options.windowMs);
    this.sampledAt = now;
    this.loggedAt = now;
    this.publishPath();
  }

  get path(): AdaptivePath {
    return this.state.path;
  }

  /** Whether a shadow probe is still running (at most one is). */
  get probeInFlight(): boolean {
    return this.probing;
  }

  /** The path for this request, and whether to shadow it on the other path. */
  route(): { path: AdaptivePath; probe: boolean } {
    const now = this.deps.now();
    if (now - this.sampledAt >= SAMPLE_EVERY_MS) this.sample(now);
    if (now - this.decidedAt >= DECIDE_EVERY_MS) this.decideNow(now);
    this.requests += 1;
    this.interval.requests += 1;
    const path = this.state.path;
    this.routed[path] += 1;
    // Every (1 / share)-th request, one probe at a time, so probes never queue up on a slow path.
    const probe =
      !this.probing &&
      this.options.probeShare > 0 &&
      this.requests % Math.max(1, Math.round(1 / this.options.probeShare)) === 0;
    if (probe) this.probing = true;
    return { path, probe };
  }

  /** Times a local run (a request's or a probe's) and records it. */
  async timeLocal<T>(run: () => Promise<T>, probe = false): Promise<T> {
    const started = this.deps.now();
    this.localInFlight += 1;
    this.interval.local += 1;
    try {
      return await run();
    } finally {
      this.localInFlight -= 1;
      const now = this.deps.now();
      this.local.add(now - started, now);
      if (probe) this.probeDone('local');
    }
  }

  /** Times a cloud round trip and records it; one that failed (or timed out) also marks the cloud as failing. */
  async timeCloud<T>(run: () => Promise<T>, answered: (result: T) => boolean, probe = false): Promise<T> {
    const started = this.deps.now();
    let ok = false;
    try {
      const result = await run();
      ok = answered(result);
      return result;
    } finally {
      const now = this.deps.now();
      this.cloud.add(now - started, now);
      if (!ok) this.cloudFailedAt = now;
      if (probe) this.probeDone('cloud');
    }
  }

  private probeDone(path: AdaptivePath): void {
    this.probing = false;
    this.deps.metrics.adaptiveProbes.inc({ model: this.deps.model, path });
  }

  /** The estimates the rules decide on, as of `now`. */
  estimates(now = this.deps.now()): AdaptiveEstimates {
    const tail = this.local.percentile(ESTIMATE_PERCENTILE, now);
    const p50 = this.local.percentile(50, now);
    return {
      // A request that joins the local queue waits for those ahead of it.
      localMs: tail === undefined || p50 === undefined ? undefined : Math.max(tail, (this.localInFlight + 1) * p50),
      cloudMs: this.cloud.percentile(ESTIMATE_PERCENTILE, now),
      cloudFailing: now - this.cloudFailedAt < this.options.failHoldMs,
      cpuPressure: this.pressure?.cpu,
      memoryPressure: this.pressure?.memory,
      throttled: this.pressure?.throttled,
      localCpu: this.cpuPerRequest === undefined ? undefined : this.cpuPerRequest * this.rate,
      // In the cloud, local runs are probes, one at a time: the idle path's time, which the whole
      // rate would queue behind. (Batching may serve more; this errs towards staying in the cloud.)
      localLoad: this.state.path === 'cloud' && p50 !== undefined ? (this.rate * p50) / 1000 : undefined,
    };
  }

  private sample(now: number): void {
    const pressure = this.deps.pressure();
    const { requests, local } = this.interval;
    const seconds = Math.max(1e-3, pressure.intervalMs / 1000);
    this.rate = requests / seconds;
    // The process's CPU per request (share of the gateway × seconds), learned while (nearly)
    // every request ran here; with the request rate, the share running all of them here would take.
    if (local >= 10 && local >= 0.9 * requests) {
      const perRequest = (pressure.ownCpu * seconds) / local;
      this.cpuPerRequest = this.cpuPerRequest === undefined ? perRequest : 0.7 * this.cpuPerRequest + 0.3 * perRequest;
    }
    this.pressure = pressure;
    this.interval = { requests: 0, local: 0 };
    this.sampledAt = now;
    const { metrics, model } = this.deps;
    const estimates = this.estimates(now);
    for (const [path, value] of [
      ['local', estimates.localMs],
      ['cloud', estimates.cloudMs],
    ] as const)
      if (value !== undefined) metrics.adaptiveEstimate.set({ model, path }, value / 1000);
    const signals = {
      cpu_pressure: estimates.cpuPressure,
      memory_pressure: estimates.memoryPressure,
      cpu_throttled: estimates.throttled,
      local_cpu: estimates.localCpu,
      local_load: estimates.localLoad,
    };
    for (const [signal, value] of Object.entries(signals)) {
      if (value === undefined) metrics.adaptiveSignal.remove({ model, signal });
      else metrics.adaptiveSignal.set({ model, signal }, value);
    }
    if (now - this.loggedAt >= LOG_EVERY_MS) {
      const total = this.routed.local + this.routed.cloud;
      this.deps.log.info(
        {
          model,
          path: this.state.path,
          reason: this.state.reason,
          localShare: total ? Number((this.routed.local / total).toFixed(3)) : null,
          ...estimates,
          why: this.last?.why,
        },
        'Adaptive offloading',
      );
      this.routed = { local: 0, cloud: 0 };
      this.loggedAt = now;
    }
  }

  private decideNow(now: number): void {
    this.decidedAt = now;
    const decision = decide(this.state, this.estimates(now), this.options, now);
    this.last = decision;
    if (!decision.switched) return;
    this.state = { path: decision.path, reason: decision.reason, since: decision.since, holdMs: decision.holdMs };
    this.deps.metrics.adaptiveSwitches.inc({ model: this.deps.model, to: decision.path, reason: decision.reason });
    this.deps.log.info(
      { model: this.deps.model, to: decision.path, reason: decision.reason, why: decision.why },
      'Adaptive offloading switched',
    );
    this.publishPath();
  }

  /** One series at 1: the path in use and why. */
  private publishPath(): void {
    this.deps.metrics.adaptivePath.reset();
    this.deps.metrics.adaptivePath.set({ model: this.deps.model, path: this.state.path, reason: this.state.reason }, 1);
  }
}
