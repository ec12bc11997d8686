import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verdictEndpoint } from '../../src/app/verdict-endpoint.ts';
import { siteAnalysisLiteral, analysisSchema, VerdictBook } from '../../src/core/analysis.ts';
import { siteDriftToken } from '../../src/core/training-run.ts';
import { analyzerFor } from '../../src/serve/options.ts';
import { SiteAnalyzer } from '../../src/serve/site-analysis.ts';
import { batch, serving, silent } from './helpers.ts';

const SECRET = 'site-analysis-secret';
const REPO = 'acme/pump-model';
const MINUTE = 60_000;

describe('a site judging the release it serves', () => {
  let app: Server;
  let appUrl = '';
  const book = new VerdictBook();
  beforeAll(async () => {
    const endpoint = verdictEndpoint(SECRET, book);
    app = createServer((request, response) => {
      if (!endpoint(request, response)) response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => app.close(() => resolve())));

  /** The analyzer `edgeship serve` makes from the overlay's EDGESHIP_ANALYSIS, on a clock the test moves. */
  const analyzer = (site: string, budgetMs: number, version: () => string, clock: { now: number }) => {
    const analysis = analysisSchema.parse({ minRequests: 10, failureLimit: 2 });
    return analyzerFor(
      { driftRepo: REPO, site } as Parameters<typeof analyzerFor>[0],
      {
        EDGESHIP_ANALYSIS: siteAnalysisLiteral(analysis, budgetMs, 2),
        EDGESHIP_DRIFT_URL: appUrl,
        EDGESHIP_DRIFT_TOKEN: siteDriftToken(SECRET, REPO, 'pump', site),
      },
      silent,
      { model: 'pump', version },
      // The clock of the site: intervals are numbered by it.
      () => clock.now,
    ) as SiteAnalyzer;
  };

  it('passes an interval it served well, and the app records it once', async () => {
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    const site = analyzer('plant-north', 5_000, () => '1.0.0', clock);
    const served = await serving({ version: '1.0.0', analyzer: site });
    try {
      for (let index = 0; index < 30; index += 1)
        expect((await served.call('/v2/models/pump/infer', batch(1))).status).toBe(200);
      // A client's mistake (400) is not the release's failure.
      expect((await served.call('/v2/models/pump/infer', { inputs: [] })).status).toBe(400);
      clock.now += MINUTE;
      const verdict = await site.flush();
      expect(verdict).toMatchObject({
        site: 'plant-north',
        version: '1.0.0',
        requests: 30,
        errors: 0,
        verdict: 'passed',
      });
      expect(verdict?.p99Ms).toBeGreaterThan(0);
      expect(book.summary(REPO, 'pump', '1.0.0', ['plant-north']).get('plant-north')).toEqual({
        passed: 1,
        failed: 0,
        noTraffic: 0,
      });
    } finally {
      await served.stop();
    }
  });

  it('fails an interval in which the model itself ran over the budget', async () => {
    // The same model at 512 rows a request against a 1 ms budget: slower than the site may answer.
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    const site = analyzer('plant-east', 1, () => '1.0.0', clock);
    const served = await serving({ version: '1.0.0', analyzer: site });
    try {
      for (let index = 0; index < 12; index += 1)
        expect((await served.call('/v2/models/pump/infer', batch(512))).status).toBe(200);
      clock.now += MINUTE;
      const verdict = await site.flush();
      expect(verdict).toMatchObject({ requests: 12, errors: 0, verdict: 'failed' });
      expect(verdict?.p99Ms).toBeGreaterThan(1);
      expect(verdict?.why).toEqual([`p99 ${verdict?.p99Ms?.toFixed(1)} ms > the 1 ms budget`]);
    } finally {
      await served.stop();
    }
  });

  it('fails an interval whose upstream answered 500s and took longer than the budget, naming the numbers', async () => {
    // An offloading site whose cloud is broken and slow: every other answer a 500, each after 30 ms.
    let count = 0;
    const cloud = createServer((request, response) => {
      request.resume();
      request.on('end', () =>
        setTimeout(() => {
          count += 1;
          if (count % 2 === 0) response.writeHead(500).end('{"error":"broken"}');
          else
            response
              .writeHead(200, { 'content-type': 'application/json' })
              .end(
                '{"model_name":"pump","outputs":[{"name":"forecast","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}',
              );
        }, 30),
      );
    });
    await new Promise<void>((resolve) => cloud.listen(0, '127.0.0.1', resolve));
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    const site = analyzer('substation-east', 20, () => '1.1.0', clock);
    const served = await serving({
      version: '1.1.0',
      model: undefined,
      name: 'pump',
      analyzer: site,
      offload: { url: `http://127.0.0.1:${(cloud.address() as AddressInfo).port}`, timeoutMs: 2_000 },
    });
    try {
      const statuses = [];
      for (let index = 0; index < 20; index += 1)
        statuses.push((await served.call('/v2/models/pump/infer', batch(1))).status);
      const failed = statuses.filter((status) => status >= 500).length;
      expect(failed).toBe(10);
      clock.now += MINUTE;
      const verdict = await site.flush();
      expect(verdict).toMatchObject({ requests: 20, errors: 10, verdict: 'failed' });
      expect(verdict?.why[0]).toBe('success rate 50.0% < 99.0% (10 of 20 failed)');
      expect(verdict?.why[1]).toMatch(/^p99 \d+\.\d ms > the 20 ms budget$/);
      expect(book.summary(REPO, 'pump', '1.1.0', ['substation-east']).get('substation-east')).toMatchObject({
        failed: 1,
        lastFailure: { why: verdict?.why },
      });
    } finally {
      await served.stop();
      await new Promise<void>((resolve) => cloud.close(() => resolve()));
    }
  });

  it('says no traffic below the minimum, starts afresh on a new version, and stops after its wave soak', async () => {
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    let version = '1.0.0';
    const site = analyzer('plant-south', 5_000, () => version, clock);
    site.observe(3, false);
    clock.now += MINUTE;
    expect(await site.flush()).toMatchObject({ requests: 1, verdict: 'no-traffic' });
    // A load of 1.1.0 in the middle of an interval: that interval is not judged for either version.
    for (let index = 0; index < 12; index += 1) site.observe(2, false);
    version = '1.1.0';
    clock.now += MINUTE;
    expect(await site.flush()).toBeUndefined();
    // Its wave soaks 2 minutes of 1-minute intervals: 2 + 2 intervals are sent, then no more.
    const sent = [];
    for (let round = 0; round < 6; round += 1) {
      for (let index = 0; index < 12; index += 1) site.observe(2, false);
      clock.now += MINUTE;
      sent.push((await site.flush())?.verdict);
    }
    expect(sent).toEqual(['passed', 'passed', 'passed', 'passed', undefined, undefined]);
    expect(book.summary(REPO, 'pump', '1.1.0', ['plant-south']).get('plant-south')?.passed).toBe(4);
  });

  it("fails an interval whose inputs drifted past the release's PSI, as the drift monitor measured it", async () => {
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    const sent: unknown[] = [];
    const site = new SiteAnalyzer({
      analysis: analysisSchema.parse({ minRequests: 1, maxDriftPsi: 0.25 }),
      budgetMs: 100,
      intervals: 5,
      model: 'pump',
      site: 'plant-north',
      version: () => '1.0.0',
      driftPsi: () => 0.4,
      send: async (verdict) => void sent.push(verdict),
      log: silent,
      now: () => clock.now,
    });
    site.observe(2, false);
    clock.now += MINUTE;
    expect(await site.flush()).toMatchObject({ driftPsi: 0.4, verdict: 'failed', why: ['drift PSI 0.40 > 0.25'] });
    expect(sent).toHaveLength(1);
  });

  it('sends a verdict the app did not take again after the next interval, oldest first, and drops one the app refused', async () => {
    const clock = { now: Date.parse('2026-12-08T10:00:30Z') };
    const taken: number[] = [];
    // What the app answers each attempt: 503 (between leaders), unreachable, then 202s; one 400.
    const answers: (number | 'unreachable')[] = [503, 503, 'unreachable', 202, 202, 202, 202, 400, 202];
    const site = new SiteAnalyzer({
      analysis: analysisSchema.parse({ minRequests: 1 }),
      budgetMs: 100,
      intervals: 10,
      model: 'pump',
      site: 'plant-north',
      version: () => '1.0.0',
      send: async (verdict) => {
        const answer = answers.shift() ?? 202;
        if (answer === 'unreachable') throw new Error('connect ECONNREFUSED');
        if (answer >= 400) throw Object.assign(new Error(`analysis verdict: ${answer}`), { status: answer });
        taken.push(verdict.interval);
      },
      log: silent,
      now: () => clock.now,
    });
    const interval = async () => {
      site.observe(2, false);
      clock.now += MINUTE;
      return (await site.flush())?.interval;
    };
    const first = (await interval()) as number; // 503: kept
    expect(taken).toEqual([]);
    await interval(); // the first again: 503, so both wait
    await interval(); // unreachable: all three wait
    expect(taken).toEqual([]);
    await interval(); // all four go, oldest first
    expect(taken).toEqual([first, first + 1, first + 2, first + 3]);
    await interval(); // 400: refused for good, not sent again
    await interval();
    expect(taken).toEqual([first, first + 1, first + 2, first + 3, first + 5]);
  });

  it('serves on, and says why, with an EDGESHIP_ANALYSIS it cannot read or nowhere to report to', () => {
    const flags = { driftRepo: REPO } as Parameters<typeof analyzerFor>[0];
    const served = { model: 'pump', version: () => '1.0.0' };
    const warnings: string[] = [];
    const log = { ...silent, warn: (fields: { error: string }) => void warnings.push(fields.error) };
    expect(analyzerFor(flags, { EDGESHIP_ANALYSIS: 'interval=60,budget=abc' }, log, served)).toBeUndefined();
    expect(analyzerFor(flags, { EDGESHIP_ANALYSIS: 'interval=60,budget=9,intervals=3' }, log, served)).toBeUndefined();
    expect(warnings).toEqual([
      'EDGESHIP_ANALYSIS: expected key=number pairs separated by commas, found "budget=abc", found "interval=60,budget=abc"',
      expect.stringMatching(
        /expected EDGESHIP_DRIFT_REPO \(owner\/name\), EDGESHIP_DRIFT_URL \(the app\) and EDGESHIP_DRIFT_TOKEN/,
      ),
    ]);
  });
});
