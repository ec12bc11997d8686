import { spawn } from 'node:child_process';
import { parseAppSettings } from '../../src/compose/app-settings.ts';
import { createHmac } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import nock from 'nock';
import { Probot, ProbotOctokit } from 'probot';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appServer } from '../../src/app/http-server.ts';
import { callbackToken, jobName, siteDriftToken } from '../../src/core/training-run.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { builtFile } from '../helpers/cli.ts';
import { ROOT, WAIT } from '../helpers/fixtures.ts';
import { postWithToken } from '../helpers/handler-server.ts';
import { startJobsApi } from '../helpers/k8s-jobs-server.ts';
import { exampleConfigText, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { privateKey } from '../helpers/webhooks.ts';

const SECRET = 'hook-secret';

describe("the app's HTTP server, configured from the environment", () => {
  const tempDir = useTempDirs();
  let github: FakeGitHub;
  let api: Awaited<ReturnType<typeof startJobsApi>>;
  let server: Server;
  let url: string;
  let world: ReleaseWorld;

  beforeEach(async () => {
    github = new FakeGitHub();
    nock.enableNetConnect('127.0.0.1');
    api = await startJobsApi();
    world = await new ReleaseWorld(github).seed();
    const kubeconfig = join(await tempDir(), 'kubeconfig');
    await writeFile(kubeconfig, api.kubeconfig.exportConfig());
    const probot = new Probot({
      appId: 1,
      privateKey,
      secret: SECRET,
      logLevel: 'fatal',
      Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
        ...options,
        retry: { enabled: false },
        throttle: { enabled: false },
      })),
    });
    const policy = join(await tempDir(), 'policy.yaml');
    await writeFile(
      policy,
      'gitops: { repos: [acme/gitops] }\ntraining:\n  - repos: [acme/pump-model]\n    namespaces: [ml]\n    images: [ghcr.io/acme/pump-train]\n',
    );
    const env = {
      EDGESHIP_POLICY_FILE: policy,
      EDGESHIP_TRAINING_KUBECONFIG: kubeconfig,
      EDGESHIP_TRAINING_CALLBACK_SECRET: 'callback-secret',
      EDGESHIP_PUBLIC_URL: 'https://edgeship.example/',
      EDGESHIP_ARGOCD_WEBHOOK_TOKEN: 'argo-token',
      EDGESHIP_DRIFT_SECRET: 'drift-secret',
    };
    server = await appServer(probot, parseAppSettings(env), {
      resyncEveryMs: 0,
      rolloutEveryMs: 0,
      trainingEveryMs: 0,
      redeliverEveryMs: 0,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await api.stop();
    github.done();
  });

  it("answers the pod's probes: liveness while it serves, readiness once it reaches GitHub with its key", async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready\n']);
    expect(github.count('GET', /^\/app\/installations$/)).toBe(1);
    // Probes within 10 s reuse the answer: replicas probing every few seconds cost GitHub nothing more.
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect(github.count('GET', /^\/app\/installations$/)).toBe(1);
  });

  const deliver = async (event: string, payload: object) => {
    const body = JSON.stringify(payload);
    const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    return fetch(`${url}/api/github/webhooks`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': `d-${Date.now()}`,
        'x-hub-signature-256': signature,
      },
    });
  };
  const trainCheck = (sha: string) =>
    world.model.checkRuns.find((check) => check.name === 'edgeship/train' && check.head_sha === sha);

  it("starts a Job with the run's callback, and the watch of its namespace reports the failure in the check run", async () => {
    const text = (await exampleConfigText())
      .replace(
        '  backend: github-actions\n',
        '  backend: kubernetes\n  kubernetes: { namespace: ml, image: "ghcr.io/acme/pump-train:1" }\n',
      )
      .replace('repository: ghcr.io/edgeship-demo/models', 'repository: registry.example/models');
    const sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': text });
    expect((await deliver('push', world.push(sha))).status).toBe(200);
    await expect.poll(() => trainCheck(sha)?.status, WAIT).toBe('in_progress');
    const key = trainCheck(sha)?.external_id ?? '';
    const env = Object.fromEntries(
      (api.jobs.get(`ml/${jobName(key)}`)?.spec?.template.spec?.containers[0]?.env ?? []).map((entry) => [
        entry.name,
        entry.value,
      ]),
    );
    expect(env).toMatchObject({
      EDGESHIP_CALLBACK_URL: 'https://edgeship.example/api/edgeship/training',
      EDGESHIP_CALLBACK_TOKEN: callbackToken('callback-secret', key),
    });

    // The watch connects on its own after the first Job; the failure must come after it does.
    await expect.poll(() => api.watching(), WAIT).toBe(1);
    api.fail('ml', jobName(key), 'DeadlineExceeded');
    await expect.poll(() => trainCheck(sha)?.conclusion, WAIT).toBe('failure');
    expect(trainCheck(sha)?.output.summary).toContain('the Job ran longer than its deadline of 3600 s');
  });

  it('answers a webhook once its work is done, so a replica that dies before acting leaves GitHub a failed delivery to send again', async () => {
    const text = (await exampleConfigText())
      .replace(
        '  backend: github-actions\n',
        '  backend: kubernetes\n  kubernetes: { namespace: ml, image: "ghcr.io/acme/pump-train:1" }\n',
      )
      .replace('repository: ghcr.io/edgeship-demo/models', 'repository: registry.example/models');
    const sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': text });
    const answered = await deliver('push', world.push(sha));
    expect(answered.status).toBe(200);
    // When the answer came, the training had started: its check run and its Job exist already.
    expect(trainCheck(sha)?.status).toBe('in_progress');
    expect([...api.jobs.keys()]).toEqual([`ml/${jobName(trainCheck(sha)?.external_id ?? '')}`]);
  });

  it('takes the run callback and Argo CD notifications with their tokens, and nothing else', async () => {
    expect(
      (
        await postWithToken(
          `${url}/api/edgeship/training`,
          JSON.stringify({ runKey: 'k' }),
          callbackToken('callback-secret', 'k'),
        )
      ).status,
    ).toBe(202);
    expect((await postWithToken(`${url}/api/edgeship/training`, JSON.stringify({ runKey: 'k' }), 'guess')).status).toBe(
      401,
    );
    expect((await postWithToken(`${url}/api/edgeship/argocd`, '{}', 'argo-token')).status).toBe(202);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(404);
  });

  it('takes drift evidence from a site with its own token (no GitHub token at the edge) and refuses hostile evidence', async () => {
    const evidence = {
      repo: MODEL_REPO,
      model: 'pump-forecaster',
      site: 'plant-north',
      features: [{ name: 'temperature', score: 0.41 }],
    };
    const token = siteDriftToken('drift-secret', MODEL_REPO, 'pump-forecaster', 'plant-north');
    const post = (body: object, bearer: string) =>
      postWithToken(`${url}/api/edgeship/drift`, JSON.stringify(body), bearer);
    expect(
      (await post(evidence, siteDriftToken('drift-secret', MODEL_REPO, 'pump-forecaster', 'plant-south'))).status,
    ).toBe(401);
    const hostile = await post({ ...evidence, features: [{ name: '<img src=x onerror=alert(1)>', score: 1 }] }, token);
    expect(hostile.status).toBe(400);
    expect(await hostile.json()).toEqual({
      error: 'drift evidence: features[0].name: expected a feature name of letters, digits, _ . : - (at most 64)',
    });
    expect(world.model.dispatches).toEqual([]);
    expect((await post(evidence, token)).status).toBe(202);
    await expect.poll(() => world.model.dispatches.length, WAIT).toBe(1);
    expect(world.model.dispatches[0]).toMatchObject({
      workflow: 'edgeship-train.yml',
      ref: 'main',
      inputs: { sha: world.sha, reason: 'drift' },
    });
    expect(JSON.parse(world.model.dispatches[0]?.inputs.context ?? '{}')).toMatchObject({
      site: 'plant-north',
      summary: 'drift at plant-north: temperature=0.41',
    });
    // 60 posts at once with one site's token: recorded once, trained once, each answered.
    const concurrent = await Promise.all(
      Array.from({ length: 60 }, () =>
        post(
          { ...evidence, site: 'plant-south' },
          siteDriftToken('drift-secret', MODEL_REPO, 'pump-forecaster', 'plant-south'),
        ),
      ),
    );
    expect(new Set(concurrent.map((response) => response.status))).toEqual(new Set([202]));
    await expect.poll(() => world.model.dispatches.length, WAIT).toBe(2);
    expect(
      world.model.deployments.filter((deployment) => deployment.environment.endsWith('/plant-south')),
    ).toHaveLength(1);
    // A token for a site that is not a target of the model is a valid token, but its evidence is refused.
    const stranger = await post(
      { ...evidence, site: 'stranger' },
      siteDriftToken('drift-secret', MODEL_REPO, 'pump-forecaster', 'stranger'),
    );
    expect(stranger.status).toBe(403);
    expect(await stranger.json()).toEqual({
      error: 'stranger is not a target of pump-forecaster in .github/edgeship.yml of acme/pump-model',
    });
    expect(world.model.deployments.filter((deployment) => deployment.environment.endsWith('/stranger'))).toEqual([]);
  });

  it('refuses an unsigned 100 MiB webhook body with 413 before reading it, and one without a length with 411', async () => {
    const before = process.memoryUsage().rss;
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${url}/api/github/webhooks`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(100 * 1024 ** 2) } },
        (response) => resolve(response.statusCode ?? 0),
      );
      request.on('error', reject);
      const chunk = Buffer.alloc(1024 ** 2, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < 100 && request.write(chunk)) sent += 1;
        if (sent < 100) request.once('drain', () => ((sent += 1), pump()));
      };
      pump();
    });
    expect(status).toBe(413);
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 ** 2);
    const chunked = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${url}/api/github/webhooks`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (response) => resolve(response.statusCode ?? 0),
      );
      request.on('error', reject);
      request.write('{');
      request.end('}');
    });
    expect(chunked).toBe(411);
  });
});

describe('npm start', () => {
  it('refuses to start without the webhook secret and the private key, naming the variables', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/server.ts'], {
        env: { PATH: process.env.PATH ?? '', APP_ID: '1' },
      });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode, stderr: text }));
    });
    expect(code).toBe(2);
    expect(stderr).toContain(
      "edgeship: not starting; set WEBHOOK_SECRET (the secret set on the GitHub App's webhook; without it anyone could send events), PRIVATE_KEY or PRIVATE_KEY_PATH",
    );
  });

  it('runs the built app, as the image and templates/app run it (dist/app/server.js)', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [builtFile('app/server.js')], {
        env: { PATH: process.env.PATH ?? '', APP_ID: '1', WEBHOOK_SECRET: SECRET },
      });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode, stderr: text }));
    });
    expect([code, stderr]).toEqual([
      2,
      "edgeship: not starting; set PRIVATE_KEY or PRIVATE_KEY_PATH (the GitHub App's private key).\n",
    ]);
    expect(
      (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
        .start,
    ).toBe('node dist/app/server.js');
  });

  it('stops taking webhooks on SIGTERM and exits once its queue is done', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/server.ts'], {
      env: {
        PATH: process.env.PATH ?? '',
        APP_ID: '1',
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: SECRET,
        PORT: '0',
        LOG_LEVEL: 'info',
        NO_COLOR: '1',
      },
    });
    let output = '';
    const listening = new Promise<void>((resolve) => {
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('edgeship listening for webhooks')) resolve();
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await listening;
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('SIGTERM: no more webhooks; finishing queued work');
  });
});
