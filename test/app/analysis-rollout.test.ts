import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { verdictEndpoint } from '../../src/app/verdict-endpoint.ts';
import { VerdictBook } from '../../src/core/analysis.ts';
import { wavesOf } from '../../src/core/config.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { siteDriftToken } from '../../src/core/training-run.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { FLEET_GITOPS_REPO, FLEET_MODEL_REPO, fleetConfigText, FleetRelease } from '../helpers/fleet-release.ts';

const SECRET = 'analysis-test-secret';
const ANALYSIS = '{ intervalSeconds: 60, failureLimit: 3, minRequests: 10 }';
const SITES = 1_000;
const RECORD = 'models/pump-forecaster/release.yaml';

describe('waves promoted by what 1,000 sites report through the app', () => {
  let server: Server;
  let url = '';
  let book: VerdictBook;
  let github: FakeGitHub;
  let world: FleetRelease;
  const waves = fleetConfigText(SITES, ANALYSIS).then((text) => wavesOf(parseConfig(text, 'edgeship.yml')));

  beforeAll(async () => {
    server = createServer((request, response) => {
      if (!endpoint(request, response)) response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/edgeship/verdicts`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  let endpoint: ReturnType<typeof verdictEndpoint>;
  beforeEach(() => {
    book = new VerdictBook();
    endpoint = verdictEndpoint(SECRET, book);
    github = new FakeGitHub();
    // The sites post to the endpoint on loopback; GitHub stays the fake's.
    nock.enableNetConnect('127.0.0.1');
    world = new FleetRelease(github, SITES, inject('exampleOutputs'), { verdicts: book }, ANALYSIS);
  });
  afterEach(() => github.done());

  /** One interval of a site, as `edgeship serve` posts it. */
  const post = async (site: string, interval: number, failed?: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${siteDriftToken(SECRET, FLEET_MODEL_REPO, 'pump-forecaster', site)}`,
      },
      body: JSON.stringify({
        repo: FLEET_MODEL_REPO,
        model: 'pump-forecaster',
        version: '1.0.0',
        site,
        interval,
        requests: 120,
        errors: 0,
        p99Ms: failed ? 31 : 4.2,
        verdict: failed ? 'failed' : 'passed',
        why: failed ? [failed] : [],
      }),
    });
    return { status: response.status, body: (await response.json()) as { recorded?: boolean; error?: string } };
  };
  /** Every site of a wave reports a passing interval, 50 at a time, but those in `except`. */
  const passWave = async (wave: number, except: readonly string[] = []) => {
    const targets = ((await waves)[wave]?.targets ?? []).filter((target) => !except.includes(target));
    for (let start = 0; start < targets.length; start += 50)
      await Promise.all(targets.slice(start, start + 50).map((site) => post(site, 0)));
  };
  const record = () => parseReleaseRecord(github.file(FLEET_GITOPS_REPO, 'main', RECORD) ?? '', RECORD);

  it('sends each wave only after every site of the one before passed, and writes to GitHub per wave', async () => {
    await world.start();
    expect(Object.keys(record().rollout?.waves ?? {})).toEqual(['canary']);
    await passWave(0);
    // Sent twice, an interval counts once.
    const canarySite = (await waves)[0]?.targets[0] ?? '';
    expect(await post(canarySite, 0)).toEqual({ status: 202, body: { recorded: false } });
    await world.tick();
    expect(Object.keys(record().rollout?.waves ?? {})).toEqual(['canary', 'ten']);
    await passWave(1);
    await world.tick();
    await passWave(2);
    await world.tick();
    expect(record().rollout?.status).toBe('done');
    // Verdicts cost GitHub nothing per site: the same writes as a rollout without analysis.
    expect(github.calls.filter(isWrite).length).toBeLessThanOrEqual(60);
  });

  it('stops at the wave where one site reports a p99 over its budget, and names it with its numbers', async () => {
    await world.start();
    await passWave(0);
    await world.tick();
    const bad = (await waves)[1]?.targets.find((target) => target !== 'cloud') ?? '';
    await passWave(1, [bad]);
    for (const interval of [0, 1, 2]) await post(bad, interval, 'p99 31.0 ms > the 25 ms budget');
    await world.tick();
    // The first release: the site ran nothing before, so the rollout halts where a later one rolls back.
    expect(record().rollout).toMatchObject({
      status: 'halted',
      reason: expect.stringContaining(
        `${bad} failed 3 analysis intervals (interval 2: p99 31.0 ms > the 25 ms budget)`,
      ) as string,
    });
    expect(Object.keys(record().rollout?.waves ?? {})).toEqual(['canary', 'ten']);
    const comments = [...github.repo(FLEET_MODEL_REPO).comments.values()].flat().map((comment) => comment.body);
    expect(comments.join('\n')).toContain(`${bad} failed 3 analysis intervals`);
    // The wave's deployment fails, counting the site; the dashboard lists it among the exceptions.
    const model = github.repo(FLEET_MODEL_REPO);
    expect(model.deployments.map((deployment) => [deployment.environment, deployment.statuses.at(-1)?.state])).toEqual([
      ['pump-forecaster/canary', 'success'],
      ['pump-forecaster/ten', 'failure'],
      ['pump-forecaster/rest', 'inactive'],
    ]);
    expect(model.deployments[1]?.statuses.at(-1)?.description).toBe('1.0.0 to 90 targets: 1 failed, 89 healthy');
    expect(model.issues[0]?.body).toContain('Failed its analysis');
  });

  it('treats a site that reported nothing by the end of the soak as failed', async () => {
    await world.start();
    const silent = (await waves)[0]?.targets.find((target) => target !== 'cloud') ?? '';
    await passWave(0, [silent]);
    await world.tick();
    expect(record().rollout).toMatchObject({
      status: 'halted',
      reason: expect.stringContaining(`${silent} reported no analysis by the end of the soak`) as string,
    });
    expect(Object.keys(record().rollout?.waves ?? {})).toEqual(['canary']);
  });

  it('refuses a verdict without the site token of that site, or that is not a verdict', async () => {
    const forged = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${siteDriftToken(SECRET, FLEET_MODEL_REPO, 'pump-forecaster', 'site-2')}`,
      },
      body: JSON.stringify({
        repo: FLEET_MODEL_REPO,
        model: 'pump-forecaster',
        version: '1.0.0',
        site: 'site-1',
        interval: 0,
        requests: 1,
        errors: 0,
        verdict: 'passed',
      }),
    });
    expect(forged.status).toBe(401);
    const broken = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo: FLEET_MODEL_REPO, model: 'pump-forecaster', site: 'site-1', verdict: 'great' }),
    });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: string }).error).toMatch(/^analysis verdict: version: /);
  });
});
