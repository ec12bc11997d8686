import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADAPTIVE_DEFAULTS } from '../../src/core/adaptive-routing.ts';
import { AdaptiveRouter } from '../../src/serve/adaptive.ts';
import { GatewayPressure, type PressureSample } from '../../src/serve/gateway-pressure.ts';
import { servingMetrics } from '../../src/serve/metrics.ts';
import { goldenRequest, recorder, serving, silent } from './helpers.ts';

/** An adaptive edge server whose clock and gateway pressure the test sets; the cloud is a recorder. */
async function adaptiveSite(cloudStatus = 200) {
  let clock = 0;
  let pressure: PressureSample = { cpu: 0.02, memory: 0, throttled: undefined, ownCpu: 0.01, intervalMs: 1000 };
  const cloud = await recorder(() => [cloudStatus, { model_name: 'pump', id: 'from-the-cloud', outputs: [] }]);
  const metrics = servingMetrics();
  const router = new AdaptiveRouter(
    { ...ADAPTIVE_DEFAULTS, budgetMs: 50, probeShare: 0.5, windowMs: 10_000, failHoldMs: 5_000 },
    { now: () => clock, pressure: () => pressure, metrics, model: 'pump', log: silent },
  );
  const edge = await serving({ offload: { url: cloud.url, timeoutMs: 2000 }, adaptive: router, metrics });
  const { request } = await goldenRequest();
  const infer = async () => (await edge.call('/v2/models/pump/infer', request)).body;
  /** Requests until the probes have measured a path (probes run one at a time, beside the answers). */
  const measure = async (path: 'localMs' | 'cloudMs') => {
    for (let sent = 0; router.estimates(clock)[path] === undefined; sent += 1) {
      if (sent > 200) throw new Error(`no ${path} estimate after 200 requests`);
      await infer();
    }
  };
  return {
    router,
    cloud,
    infer,
    measure,
    metrics: () => fetch(`${edge.base}/metrics`).then((answer) => answer.text()),
    /** Moves the clock, once the probe in flight (if any) is done: it would otherwise count the jump as its latency. */
    at: async (ms: number) => {
      await vi.waitFor(() => expect(router.probeInFlight).toBe(false), { timeout: 30_000 });
      clock = ms;
    },
    press: (next: Partial<PressureSample>) => (pressure = { ...pressure, ...next }),
    stop: async () => {
      await edge.stop();
      await cloud.stop();
    },
  };
}

describe('adaptive offloading at the edge', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  it('judges a path by its recent p99: two slow answers in a hundred count, as the budget is to hold for 99 in 100', async () => {
    let clock = 0;
    const calm: PressureSample = { cpu: 0, memory: 0, throttled: undefined, ownCpu: 0, intervalMs: 1000 };
    const router = new AdaptiveRouter(
      { ...ADAPTIVE_DEFAULTS, budgetMs: 50, probeShare: 0, windowMs: 10_000, failHoldMs: 5_000 },
      { now: () => clock, pressure: () => calm, metrics: servingMetrics(), model: 'pump', log: silent },
    );
    for (let index = 0; index < 100; index += 1) {
      await router.timeCloud(
        () => Promise.resolve((clock += index % 50 === 49 ? 80 : 5)),
        () => true,
      );
    }
    expect(router.estimates(clock).cloudMs).toBe(80);
  });

  it('stays in the cloud while lone local probes fit but the whole request rate would overload local, and comes back once it would not', async () => {
    let clock = 0;
    let pressure: PressureSample = { cpu: 0.9, memory: 0, throttled: undefined, ownCpu: 0, intervalMs: 1000 };
    const metrics = servingMetrics();
    const router = new AdaptiveRouter(
      { ...ADAPTIVE_DEFAULTS, budgetMs: 50, probeShare: 0, windowMs: 10_000, failHoldMs: 5_000 },
      { now: () => clock, pressure: () => pressure, metrics, model: 'pump', log: silent },
    );
    /** `count` runs on a path, each taking `ms` of the test's clock. */
    const run = async (path: 'local' | 'cloud', ms: number, count: number) => {
      const one = async () => void (clock += ms);
      for (let index = 0; index < count; index += 1)
        await (path === 'local' ? router.timeLocal(one) : router.timeCloud(one, () => true));
    };
    /** 100 requests in the sampling interval that ends at `ms`: 100 a second, as the pressure sample spans 1 s. */
    const requestsUntil = (ms: number) => {
      for (let index = 0; index < 100; index += 1) router.route();
      clock = ms;
      return router.route().path;
    };
    clock = 16_000;
    await run('local', 5, 5);
    await run('cloud', 10, 5);
    expect(requestsUntil(16_300)).toBe('cloud');

    // Calm again, past the dwell time; each lone local probe took 30 ms, within the 50 ms budget by the margin.
    pressure = { ...pressure, cpu: 0.02 };
    clock = 31_000;
    await run('local', 30, 10);
    await run('cloud', 10, 5);
    expect(requestsUntil(32_000)).toBe('cloud');
    expect(router.estimates().localLoad).toBeCloseTo(3, 5);
    expect(await metrics.registry.getSingleMetricAsString('edgeship_adaptive_signal_ratio')).toMatch(
      /signal="local_load"\} 3$/m,
    );

    // The probes take 2 ms now: 100 requests a second would load local to 20%.
    await run('local', 2, 30);
    expect(requestsUntil(33_000)).toBe('local');
    expect(await metrics.registry.getSingleMetricAsString('edgeship_adaptive_switches_total')).toContain(
      'to="local",reason="local-fits"} 1',
    );
    requestsUntil(33_300);
    expect(await metrics.registry.getSingleMetricAsString('edgeship_adaptive_signal_ratio')).not.toContain(
      'local_load',
    );
  });

  it('runs locally while the gateway is calm, probes the cloud of its own version, leaves under pressure and comes back after the dwell time', async () => {
    const site = await adaptiveSite();
    stops.push(site.stop);
    await site.at(16_000);
    for (let index = 0; index < 10; index += 1) expect((await site.infer()).id).toBe('golden-0');
    await site.measure('cloudMs');
    // Probes (answers dropped) went to the route of the version this site was released with.
    expect(site.cloud.received.length).toBeGreaterThanOrEqual(5);
    expect(new Set(site.cloud.received.map((request) => request.url))).toEqual(
      new Set(['/v2/models/pump/versions/1.0.0/infer']),
    );

    site.press({ cpu: 0.9 });
    await site.at(17_100);
    expect((await site.infer()).id).toBe('from-the-cloud');
    expect(site.router.path).toBe('cloud');
    let metrics = await site.metrics();
    expect(metrics).toContain('edgeship_adaptive_path{model="pump",path="cloud",reason="cpu-pressure"} 1');
    expect(metrics).toContain('edgeship_adaptive_switches_total{model="pump",to="cloud",reason="cpu-pressure"} 1');
    expect(metrics).toContain('edgeship_adaptive_signal_ratio{model="pump",signal="cpu_pressure"} 0.9');
    expect(metrics).toMatch(/edgeship_offload_requests_total\{model="pump",route="local"\} [1-9]\d*\b/);

    // In the cloud, local probes keep the local estimate fresh; calm again, it stays until the dwell time is over.
    for (let index = 0; index < 10; index += 1) expect((await site.infer()).id).toBe('from-the-cloud');
    site.press({ cpu: 0.05 });
    await site.at(25_000);
    expect((await site.infer()).id).toBe('from-the-cloud');
    await site.at(32_200);
    await site.measure('localMs');
    await site.at(33_300);
    expect((await site.infer()).id).toBe('golden-0');
    metrics = await site.metrics();
    expect(metrics).toContain('edgeship_adaptive_path{model="pump",path="local",reason="local-fits"} 1');
    expect(metrics).toMatch(/edgeship_adaptive_probes_total\{model="pump",path="local"\} [1-9]/);
    expect(metrics).toMatch(/edgeship_adaptive_estimate_seconds\{model="pump",path="cloud"\} /);
  });

  it('answers from the local model when the cloud fails, and goes back to local at once', async () => {
    const site = await adaptiveSite(503);
    stops.push(site.stop);
    await site.at(16_000);
    for (let index = 0; index < 10; index += 1) await site.infer();
    // The cloud never answered well: it is not known to fit, so pressure does not send requests there.
    site.press({ cpu: 0.9 });
    await site.at(17_100);
    expect((await site.infer()).id).toBe('golden-0');
    expect(site.router.path).toBe('local');
    expect(site.router.estimates(17_100)).toMatchObject({ cloudFailing: true, cpuPressure: 0.9 });
  });
});

describe('the gateway pressure sampler', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('turns PSI and cgroup counters into shares of the interval, and leaves out what the kernel does not have', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgeship-psi-'));
    dirs.push(dir);
    const files = { cpu: join(dir, 'cpu'), memory: join(dir, 'memory'), cgroup: dir };
    const write = async (cpuUs: number, memoryUs: number, throttledUs: number) => {
      await writeFile(
        files.cpu,
        `some avg10=1.00 avg60=0.50 avg300=0.10 total=${cpuUs}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`,
      );
      await writeFile(
        files.memory,
        `some avg10=0.00 avg60=0.00 avg300=0.00 total=${memoryUs}\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n`,
      );
      await writeFile(join(dir, 'cpu.max'), '150000 100000\n');
      await writeFile(
        join(dir, 'cpu.stat'),
        `usage_usec 1000\nnr_periods 10\nnr_throttled 2\nthrottled_usec ${throttledUs}\n`,
      );
    };
    let now = 0;
    await write(1_000_000, 5_000, 0);
    const sampler = new GatewayPressure(files, 2, () => now);
    await write(1_600_000, 105_000, 250_000);
    now = 1000;
    expect(sampler.sample()).toMatchObject({ cpu: 0.6, memory: 0.1, throttled: 0.25, intervalMs: 1000 });
    // Without a quota nothing throttles; without PSI there is no pressure to read.
    await writeFile(join(dir, 'cpu.max'), 'max 100000\n');
    await rm(files.cpu);
    now = 2000;
    expect(sampler.sample()).toMatchObject({ cpu: undefined, throttled: undefined, memory: 0 });
  });
});
