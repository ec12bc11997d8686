import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { verdictEndpoint } from '../../src/app/verdict-endpoint.ts';
import { VerdictBook } from '../../src/core/analysis.ts';
import { wavesOf } from '../../src/core/config.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { siteDriftToken } from '../../src/core/training-run.ts';
import { planGitOpsChange } from '../../src/services/apply.ts';
import { FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import { MemoryStore } from '../helpers/fakes.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { FLEET_GITOPS_REPO, FLEET_MODEL_REPO, fleetConfigText, FleetRelease } from '../helpers/fleet-release.ts';

const SECRET = 'analysis-test-secret';
const ANALYSIS = '{ intervalSeconds: 60, failureLimit: 3, minRequests: 10 }';
const SITES = 1_000;
const RECORD = 'models/pump-forecaster/release.yaml';

describe('waves promoted by what 1,000 sites report through the app', () => {
  const tempDir = useTempDirs();
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
  const post = async (site: string, interval: number, failed?: string, version = '1.0.0') => {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${siteDriftToken(SECRET, FLEET_MODEL_REPO, 'pump-forecaster', site)}`,
      },
      body: JSON.stringify({
        repo: FLEET_MODEL_REPO,
        model: 'pump-forecaster',
        version,
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
  const passWave = async (wave: number, except: readonly string[] = [], version = '1.0.0') => {
    const targets = ((await waves)[wave]?.targets ?? []).filter((target) => !except.includes(target));
    for (let start = 0; start < targets.length; start += 50)
      await Promise.all(targets.slice(start, start + 50).map((site) => post(site, 0, undefined, version)));
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

  it('rolls back the one site of a second release that reports a p99 over its budget, and stops there', async () => {
    // 1.0.0 runs on every site (its artifact in the store the app reads the baseline from).
    const store = new MemoryStore(await tempDir());
    const deployedFiles = await tempDir();
    await cp(inject('exampleOutputs'), deployedFiles, { recursive: true });
    const model = join(deployedFiles, 'model.onnx');
    await writeFile(model, Buffer.concat([await readFile(model), Buffer.from([0])]));
    await writeFile(join(deployedFiles, 'contract.json'), JSON.stringify((await world.evaluated()).candidate.contract));
    const artifact = await store.push({
      name: 'pump-forecaster',
      tag: '1.0.0',
      files: ['model.onnx', 'metrics.json', 'contract.json'].map((name) => ({
        name,
        mediaType: 'application/octet-stream',
        path: join(deployedFiles, name),
      })),
      config: {},
    });
    world = new FleetRelease(
      github,
      SITES,
      inject('exampleOutputs'),
      { verdicts: book, storeFor: () => store },
      ANALYSIS,
    );
    const config = parseConfig(await fleetConfigText(SITES, ANALYSIS), 'edgeship.yml');
    const deployed = await planGitOpsChange(
      config,
      { ...(await world.evaluated()), artifact },
      {
        rollout: { status: 'done', waves: { canary: 't0', ten: 't0', rest: 't0' } },
      },
    )(async () => undefined);
    github.commit(FLEET_GITOPS_REPO, 'main', Object.fromEntries(deployed.map((write) => [write.path, write.content])));

    await world.start();
    const version = record().version;
    expect(version).not.toBe('1.0.0');
    await passWave(0, [], version);
    await world.tick();
    const bad = (await waves)[1]?.targets.find((target) => target !== 'cloud') ?? '';
    await passWave(1, [bad], version);
    for (const interval of [0, 1, 2]) await post(bad, interval, 'p99 31.0 ms > the 25 ms budget', version);
    await world.tick();
    const after = record();
    expect(after.rollout).toMatchObject({
      status: 'rolled-back',
      reason: `${bad} failed 3 analysis intervals (interval 2: p99 31.0 ms > the 25 ms budget)`,
    });
    // Only that site went back to 1.0.0; the rest of its wave keeps the release, the last wave never got it.
    expect(after.targets[bad]?.version).toBe('1.0.0');
    const ten = (await waves)[1]?.targets ?? [];
    expect(ten.filter((target) => after.targets[target]?.version === version)).toHaveLength(ten.length - 1);
    const rest = (await waves)[2]?.targets ?? [];
    expect(rest.filter((target) => after.targets[target]?.version === version)).toEqual([]);
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
