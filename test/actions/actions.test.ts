import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { actionModelRepo, errorAnnotations, runAction } from '../helpers/action-runner.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { useTempDirs } from '../helpers/temp.ts';

const USER = { username: 'ci', password: 'registry-token' };

describe('GitHub Actions steps', () => {
  const tempDir = useTempDirs();
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry(USER);
  });
  afterAll(async () => registry?.stop());

  const modelRepo = async (trained = true) => actionModelRepo(join(await tempDir(), 'model'), trained);
  const readReport = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as EvaluationReport;
  const tags = async () => {
    const response = await fetch(`http://${registry.address}/v2/models/pump-forecaster/tags/list`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}` },
    });
    return response.ok ? (((await response.json()) as { tags: string[] | null }).tags ?? []) : [];
  };

  it('evaluate → publish → report: outputs, job summaries, and an artifact in a real registry', async () => {
    const repo = await modelRepo();
    const evaluated = await runAction('evaluate', { repo, trigger: 'drift at plant-north' });
    expect(evaluated.code).toBe(0);
    expect(evaluated.outputs).toEqual({
      report: join(repo, 'out/report.json'),
      version: '1.0.0',
      bump: 'initial',
      passed: 'true',
    });
    expect(evaluated.summary).toContain('## pump-forecaster 1.0.0');
    expect(evaluated.summary).toContain('- trigger: drift at plant-north');

    const published = await runAction('publish', {
      report: evaluated.outputs.report!,
      registry: `${registry.address}/Models`,
      username: USER.username,
      token: USER.password,
    });
    expect(published.code).toBe(0);
    expect(published.outputs.reference).toBe(`${registry.address}/models/pump-forecaster@${published.outputs.digest}`);
    expect((await readReport(evaluated.outputs.report!)).artifact).toEqual({
      reference: published.outputs.reference,
      digest: published.outputs.digest,
    });
    expect(await tags()).toContain('1.0.0');

    const reported = await runAction('report', { report: evaluated.outputs.report!, 'run-key': 'pump-forecaster-abc' });
    expect(reported.code).toBe(0);
    expect(reported.outputs.artifact).toBe('edgeship-report');
    expect((await readdir(reported.outputs.directory!)).sort()).toEqual(['report.json', 'run-key']);
    expect(await readFile(join(reported.outputs.directory!, 'run-key'), 'utf8')).toBe('pump-forecaster-abc\n');
    expect(reported.summary).toContain('run key `pump-forecaster-abc`');

    // Without a registry input, the registry the config names (artifacts.repository).
    const config = join(repo, '.github/edgeship.yml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace(/^ {2}repository: .*$/m, `  repository: ${registry.address}/team`),
    );
    const configured = await runAction('publish', {
      report: evaluated.outputs.report!,
      repo,
      username: USER.username,
      token: USER.password,
    });
    expect(configured.code).toBe(0);
    expect(configured.outputs.reference).toBe(`${registry.address}/team/pump-forecaster@${configured.outputs.digest}`);
  });

  it("train runs the config's training command; profile measures on the device; evaluate uses that result", async () => {
    const repo = await modelRepo(false);
    // The training command as the config has it, with the outputs of a training done once (PyTorch
    // itself is exercised by the global setup and the demo): no test time is training time.
    const config = join(repo, '.github/edgeship.yml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace(
        /^ {2}command: .*$/m,
        `  command: mkdir -p out && cp -r ${inject('exampleOutputs')}/. out/`,
      ),
    );
    const trained = await runAction('train', { repo });
    expect(trained.code).toBe(0);
    expect(trained.outputs).toEqual({ directory: join(repo, 'out'), artifact: 'edgeship-outputs' });
    // What training wrote, and the commit it trained (for evaluate's provenance).
    expect((await readdir(join(repo, 'out'))).sort()).toEqual([
      'golden.json',
      'metrics.json',
      'model.onnx',
      'reference-stats.json',
      'trained-from.json',
    ]);

    const profiled = await runAction('profile', {
      repo,
      model: join(repo, 'out/model.onnx'),
      profile: 'jetson-xavier-nx',
    });
    expect(profiled.code).toBe(0);
    expect(profiled.outputs.artifact).toBe('edgeship-profile-jetson-xavier-nx');
    const result = JSON.parse(await readFile(join(profiled.outputs.directory!, 'jetson-xavier-nx.json'), 'utf8')) as {
      source: string;
      speedFactor: number;
      estimated: { p95Ms: number };
    };
    expect(result).toMatchObject({ source: 'device', speedFactor: 1 });
    expect(Number(profiled.outputs['p95-ms'])).toBeCloseTo(result.estimated.p95Ms, 3);

    const evaluated = await runAction('evaluate', { repo, measured: profiled.outputs.directory! });
    const report = await readReport(evaluated.outputs.report!);
    expect(report.profiles.map((profile) => [profile.profile, profile.source])).toEqual([
      ['jetson-orin-nano', 'emulated'],
      ['jetson-xavier-nx', 'device'],
      ['cloud-cpu', 'emulated'],
    ]);
    expect(evaluated.summary).toContain('| jetson-xavier-nx | 2 | on device |');
  });

  it('profile names an unknown hardware profile', async () => {
    const repo = await modelRepo();
    const result = await runAction('profile', { repo, model: join(repo, 'out/model.onnx'), profile: 'jetson-tx9' });
    expect(errorAnnotations(result.stdout)).toEqual([
      { title: 'edgeship profile: input "profile"', message: 'input "profile": Unknown hardware profile "jetson-tx9"' },
    ]);
  });

  it('evaluate refuses measured results that did not come from a device', async () => {
    const repo = await modelRepo();
    const measured = join(repo, 'measured');
    await rm(measured, { recursive: true, force: true });
    await cp(join(repo, 'out'), measured, { recursive: true });
    await writeFile(join(measured, 'bogus.json'), JSON.stringify({ profile: 'jetson-xavier-nx', source: 'emulated' }));
    const result = await runAction('evaluate', { repo, measured });
    expect(errorAnnotations(result.stdout)[0]).toMatchObject({
      title: 'edgeship evaluate: input "measured"',
      message: expect.stringMatching(/bogus\.json is not a profile result measured on a device/) as string,
    });
  });

  it('evaluate trains first with train: true', async () => {
    const repo = await modelRepo(false);
    const config = join(repo, '.github/edgeship.yml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace(
        /^ {2}command: .*$/m,
        `  command: mkdir -p out && cp -r ${inject('exampleOutputs')}/. out/`,
      ),
    );
    const result = await runAction('evaluate', { repo, train: 'true' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('✔ Training pump-forecaster');
    expect(result.outputs.version).toBe('1.0.0');
  });

  it.each([
    [
      'a repo without .github/edgeship.yml',
      async (repo: string) => rm(join(repo, '.github/edgeship.yml')),
      {},
      'repo',
      /edgeship\.yml is not a valid edgeship config/,
    ],
    [
      'a missing model file',
      async (repo: string) => rm(join(repo, 'out/model.onnx')),
      {},
      'outputs',
      /training did not write .*out\/model\.onnx/,
    ],
    [
      'a wrong outputs path',
      async () => undefined,
      { outputs: 'nowhere' },
      'outputs',
      /training did not write .*nowhere\/model\.onnx/,
    ],
    [
      'a truncated model',
      async (repo: string) => writeFile(join(repo, 'out/model.onnx'), 'not onnx'),
      {},
      'outputs',
      /expected an ONNX model/,
    ],
    [
      'train that is not a boolean',
      async () => undefined,
      { train: 'yes' },
      'train',
      /input "train" must be true or false, found "yes"/,
    ],
  ])('evaluate fails on %s with an annotation naming the input', async (_case, breakIt, inputs, input, message) => {
    const repo = await modelRepo();
    await breakIt(repo);
    const result = await runAction('evaluate', { repo, ...inputs });
    expect(result.code).toBe(1);
    const [annotation] = errorAnnotations(result.stdout);
    expect(annotation?.title).toBe(`edgeship evaluate: input "${input}"`);
    expect(annotation?.message).toMatch(message);
    expect(result.outputs).toEqual({});
  });
});
