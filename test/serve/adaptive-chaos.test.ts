import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ADAPTIVE_DEFAULTS } from '../../src/core/adaptive-routing.ts';
import { AdaptiveRouter } from '../../src/serve/adaptive.ts';
import { servingMetrics } from '../../src/serve/metrics.ts';
import { goldenRequest, serving, silent } from './helpers.ts';

type Mode = 'ok' | 'reset' | 'slow' | '500' | '404';

/**
 * A cloud endpoint that misbehaves on demand: answers (with the version its route names), resets
 * the connection, answers after the edge has given up, answers 500 or 404; `down()` stops
 * listening (connection refused) and `up()` listens again on the same port.
 */
async function chaoticCloud() {
  let mode: Mode = 'ok';
  const urls: string[] = [];
  const make = () =>
    createServer((request, response) => {
      urls.push(request.url ?? '');
      request.resume();
      request.on('end', () => {
        if (mode === 'reset') return void request.socket.destroy();
        const version = /\/versions\/([^/]+)\/infer$/.exec(request.url ?? '')?.[1] ?? 'none';
        const answer = () =>
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ model_name: 'pump', model_version: version, id: 'from-the-cloud', outputs: [] }));
        if (mode === 'slow') setTimeout(() => !response.destroyed && answer(), 1_000).unref();
        else if (mode === '500' || mode === '404')
          response
            .writeHead(Number(mode), { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: `cloud says ${mode}` }));
        else answer();
      });
    });
  let server: Server = make();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    urls,
    set: (next: Mode) => (mode = next),
    down: close,
    up: async () => {
      server = make();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    stop: close,
  };
}

describe('an adaptive site while its cloud fails in every way and comes back', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  it('answers every request, from the version it was released with, and never waits past the cloud timeout', async () => {
    let clock = 0;
    const cloud = await chaoticCloud();
    stops.push(cloud.stop);
    const metrics = servingMetrics();
    // A busy gateway: the cloud is the path whenever it is known to answer in budget.
    const router = new AdaptiveRouter(
      { ...ADAPTIVE_DEFAULTS, budgetMs: 50, probeShare: 0.5, windowMs: 10_000, failHoldMs: 5_000 },
      {
        now: () => clock,
        pressure: () => ({ cpu: 0.9, memory: 0, throttled: undefined, ownCpu: 0.5, intervalMs: 1000 }),
        metrics,
        model: 'pump',
        log: silent,
      },
    );
    const edge = await serving({ offload: { url: cloud.url, timeoutMs: 300 }, adaptive: router, metrics });
    stops.push(edge.stop);
    const { request } = await goldenRequest();
    /** 40 requests at once; each settles, or counts as a hang after 5 s (the cloud timeout is 0.3 s). */
    const burst = async () => {
      const one = () =>
        Promise.race([
          edge.call('/v2/models/pump/infer', request),
          new Promise<'hang'>((resolve) => setTimeout(() => resolve('hang'), 5_000).unref()),
        ]);
      const answers = await Promise.all(Array.from({ length: 40 }, one));
      const wrong = answers.filter(
        (answer) => answer === 'hang' || answer.status !== 200 || answer.body.model_version !== '1.0.0',
      );
      return {
        wrong,
        fromCloud: answers.filter((answer) => answer !== 'hang' && answer.body.id === 'from-the-cloud').length,
      };
    };
    const phase = async (name: string, set: () => unknown) => {
      await vi.waitFor(() => expect(router.probeInFlight).toBe(false), { timeout: 10_000 });
      await set();
      clock += 20_000; // past the dwell time and the failure hold: each phase starts afresh
      const result = await burst();
      expect(result.wrong, name).toEqual([]);
      return result;
    };

    await phase('cloud answers', () => cloud.set('ok'));
    // Once the probes have measured it (the router decides at most once a second of its clock).
    for (let sent = 0; router.path !== 'cloud' && sent < 200; sent += 1) {
      await vi.waitFor(() => expect(router.probeInFlight).toBe(false), { timeout: 10_000 });
      clock += 1_100;
      await edge.call('/v2/models/pump/infer', request);
    }
    expect(router.path).toBe('cloud');
    expect((await phase('cloud answers, chosen', () => undefined)).fromCloud).toBeGreaterThan(0);
    for (const mode of ['reset', 'slow', '500', '404'] as const)
      expect((await phase(`cloud ${mode}`, () => cloud.set(mode))).fromCloud, mode).toBe(0);
    expect((await phase('cloud down', () => cloud.down())).fromCloud).toBe(0);
    await phase('cloud back', async () => {
      await cloud.up();
      cloud.set('ok');
    });
    // Probes find it answering again, and the busy gateway sends requests there once more.
    for (let sent = 0; router.path !== 'cloud' && sent < 200; sent += 1) {
      await vi.waitFor(() => expect(router.probeInFlight).toBe(false), { timeout: 10_000 });
      clock += 1_100;
      await edge.call('/v2/models/pump/infer', request);
    }
    expect(router.path).toBe('cloud');
    // Every request the cloud saw went to the route of the version this site was released with.
    expect(new Set(cloud.urls)).toEqual(new Set(['/v2/models/pump/versions/1.0.0/infer']));
    expect(await (await fetch(`${edge.base}/v2/health/live`)).json()).toEqual({ live: true });
  });
});
