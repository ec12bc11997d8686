import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryStore } from '../../src/adapters/oci/registry-store.ts';
import { seedRepo } from '../../src/cli/demo-setup.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { ROOT, flowConfig } from '../helpers/fixtures.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { runEdgeship } from '../helpers/cli.ts';

const KEY = 'pump-forecaster-0123456789ab-cafebabe';

/** `edgeship cloud-run` as a Job's container runs it: settings from the environment only. */
const cloudRun = (env: Record<string, string>, cwd: string) =>
  runEdgeship(['cloud-run', '--json'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });

describe('edgeship cloud-run', () => {
  const tempDir = useTempDirs();
  let registry: TestRegistry;
  const callbacks: { authorization?: string; body: string }[] = [];
  let callbackUrl = '';
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    registry = await startRegistry();
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        callbacks.push({
          ...(request.headers.authorization && { authorization: request.headers.authorization }),
          body,
        });
        response.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/edgeship/training`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await registry.stop();
  });

  /** The example model repo set up for Jobs, its training a copy of outputs trained once. */
  async function modelRepo(command: string) {
    const repo = join(await tempDir(), 'model-repo');
    await seedRepo(join(ROOT, 'model-repo-example'), repo, 'model');
    const config = flowConfig(await readFile(join(repo, '.github/edgeship.yml'), 'utf8'))
      .replace(
        '  backend: github-actions\n',
        '  backend: kubernetes\n  kubernetes: { namespace: ml, image: "ghcr.io/acme/pump-train:1" }\n',
      )
      .replace(/  command: .*\n/, `  command: ${JSON.stringify(command)}\n`)
      .replace('repository: ghcr.io/edgeship-demo/models', `repository: ${registry.address}/models`);
    await writeFile(join(repo, '.github/edgeship.yml'), config);
    const git = simpleGit(repo);
    await git.raw(['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'train on the cluster']);
    return { repo, sha: (await git.revparse(['HEAD'])).trim() };
  }

  const env = (repo: string, sha: string) => ({
    EDGESHIP_REPO_URL: repo,
    EDGESHIP_SHA: sha,
    EDGESHIP_RUN_KEY: KEY,
    EDGESHIP_BRANCH: 'main',
    EDGESHIP_REASON: 'drift',
    EDGESHIP_CONTEXT: 'PSI 0.4 at plant-north',
    EDGESHIP_CALLBACK_URL: callbackUrl,
    EDGESHIP_CALLBACK_TOKEN: 'run-token',
  });

  it('clones the commit, trains, evaluates, publishes, stores the report for the app and calls back', async () => {
    const { repo, sha } = await modelRepo(`mkdir -p out && cp -r ${inject('exampleOutputs')}/. out/`);
    const workdir = await tempDir();
    callbacks.length = 0;
    const result = await cloudRun(env(repo, sha), workdir);
    expect(result.stderr).toContain(`Checking out ${sha.slice(0, 7)}`);
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { model: string; passed: boolean; artifact: string; report: string };
    expect(summary).toMatchObject({
      model: 'pump-forecaster',
      passed: true,
      artifact: expect.stringMatching(
        new RegExp(`^${registry.address}/models/pump-forecaster@sha256:[0-9a-f]{64}$`),
      ) as string,
    });

    const pulled = await new RegistryStore(registry.address).pull(
      `${registry.address}/models/pump-forecaster:report-${KEY}`,
      join(workdir, 'report'),
    );
    const report = JSON.parse(await readFile(pulled.files['report.json'] ?? '', 'utf8')) as EvaluationReport;
    expect(report).toMatchObject({
      model: 'pump-forecaster',
      artifact: { reference: summary.artifact },
      provenance: { commit: sha, branch: 'main', trigger: 'PSI 0.4 at plant-north' },
    });
    expect(callbacks).toEqual([{ authorization: 'Bearer run-token', body: JSON.stringify({ runKey: KEY }) }]);
  });

  it('fails with the reason when training fails, and still calls back', async () => {
    const { repo, sha } = await modelRepo('echo "CUDA error: out of memory" >&2; exit 3');
    callbacks.length = 0;
    const result = await cloudRun(env(repo, sha), await tempDir());
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/error: .*exit(ed)? (with )?(code )?3/);
    expect(callbacks).toHaveLength(1);
  });

  it('names what is missing or wrong: settings, the repo, the commit', async () => {
    const missing = await cloudRun({}, await tempDir());
    expect(missing.stderr).toContain(
      'error: cloud-run: expected --repo-url, --sha, --run-key (or EDGESHIP_REPO_URL, EDGESHIP_SHA, EDGESHIP_RUN_KEY), found none',
    );
    const { repo } = await modelRepo('true');
    const noCommit = await cloudRun({ ...env(repo, 'f'.repeat(40)), EDGESHIP_CALLBACK_URL: '' }, await tempDir());
    expect(noCommit.stderr).toContain(`error: EDGESHIP_SHA: ${repo} has no commit ${'f'.repeat(40)}`);
    const noRepo = await cloudRun(
      { ...env('/nonexistent/repo', 'f'.repeat(40)), EDGESHIP_CALLBACK_URL: '' },
      await tempDir(),
    );
    expect(noRepo.stderr).toContain('error: EDGESHIP_REPO_URL: cannot clone /nonexistent/repo');
  });
});
