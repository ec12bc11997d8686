/**
 * What judging a wave by its sites' analysis costs the app: 10,000 sites each report 15 intervals
 * (a 15-minute soak) through the verdict endpoint's handler (JSON parse, schema, site token,
 * record), then the rollout step reads the wave's counts and plans it. Prints the CPU time of each
 * part, and the plan's against the same plan without analysis (the baseline, in this process).
 * Aim: judging the wave ≤ 1 s of CPU.
 */
import { PassThrough } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verdictEndpoint } from '../src/app/verdict-endpoint.ts';
import { analysisSchema, VerdictBook, type SiteAnalysis } from '../src/core/analysis.ts';
import { planRollout, type TargetState } from '../src/core/rollout.ts';
import { siteDriftToken } from '../src/core/training-run.ts';
import { sized } from './mode.ts';

const SITES = sized(10_000, 200);
const INTERVALS = sized(15, 2);
const REPO = 'acme/pump-model';
const SECRET = 'bench-secret';

const cpuMs = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** One POST through the endpoint's handler, as node:http would hand it over, without a socket. */
function posted(handle: ReturnType<typeof verdictEndpoint>, body: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const request = Object.assign(new PassThrough(), {
      url: '/api/edgeship/verdicts',
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        authorization: `Bearer ${token}`,
      },
    }) as unknown as IncomingMessage;
    const response = {
      writeHead(status: number) {
        resolve(status);
        return this;
      },
      end() {
        return this;
      },
      setHeader() {
        return this;
      },
    } as unknown as ServerResponse;
    handle(request, response);
    (request as unknown as PassThrough).end(body);
  });
}

export async function analysisBench(): Promise<void> {
  const book = new VerdictBook();
  const handle = verdictEndpoint(SECRET, book);
  const sites = Array.from({ length: SITES }, (_, index) => `site-${index}`);
  const tokens = sites.map((site) => siteDriftToken(SECRET, REPO, 'pump', site));
  const started = process.cpuUsage();
  const wall = performance.now();
  for (let interval = 0; interval < INTERVALS; interval += 1)
    for (const [index, site] of sites.entries()) {
      const body = JSON.stringify({
        repo: REPO,
        model: 'pump',
        version: '1.1.0',
        site,
        interval: 29_500_000 + interval,
        requests: 600,
        errors: 0,
        p99Ms: 4.2,
        verdict: 'passed',
      });
      const status = await posted(handle, body, tokens[index] as string);
      if (status !== 202) throw new Error(`the endpoint answered ${status} for ${site}`);
    }
  const recordMs = cpuMs(started);
  const recordWallMs = performance.now() - wall;

  const analysis = analysisSchema.parse({});
  const now = Date.parse('2026-12-08T12:00:00Z');
  const states = (withAnalysis: boolean) => {
    const summary = withAnalysis ? book.summary(REPO, 'pump', '1.1.0', sites) : new Map<string, SiteAnalysis>();
    return new Map(
      sites.map((site): [string, TargetState] => [
        site,
        {
          target: site,
          version: '1.1.0',
          previous: '1.0.0',
          sync: 'Synced',
          health: 'Healthy',
          healthySince: now - 20 * 60_000,
          ...(summary.has(site) && { analysis: summary.get(site) }),
        },
      ]),
    );
  };
  const waves = [
    { name: 'rest', targets: sites, soakMinutes: 15 },
    { name: 'cloud', targets: ['cloud'], soakMinutes: 15 },
  ];
  const judge = (withAnalysis: boolean) => {
    const since = process.cpuUsage();
    const step = planRollout({
      waves,
      version: '1.1.0',
      states: states(withAnalysis),
      now,
      ...(withAnalysis && { analysis }),
    });
    if (step.kind !== 'apply-wave') throw new Error(`expected the next wave, found ${step.kind}`);
    return cpuMs(since);
  };
  // Alternated, the median of each.
  const plain: number[] = [];
  const judged: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    plain.push(judge(false));
    judged.push(judge(true));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
  console.log(
    `\nAnalysis verdicts: ${SITES.toLocaleString('en-US')} sites × ${INTERVALS} intervals through the endpoint's handler: ${recordMs.toFixed(0)} ms CPU (${((recordMs * 1000) / (SITES * INTERVALS)).toFixed(1)} µs a verdict, ${recordWallMs.toFixed(0)} ms wall)`,
  );
  console.log(
    `Judging the wave of ${SITES.toLocaleString('en-US')} sites: ${median(judged).toFixed(1)} ms CPU, against ${median(plain).toFixed(1)} ms planning it without analysis (${(median(judged) / Math.max(median(plain), 0.001)).toFixed(2)}×; aim ≤ 1,000 ms)`,
  );
}
