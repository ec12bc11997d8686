import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { simpleGit } from 'simple-git';
import { describe, expect, it } from 'vitest';
import { locationsOf } from '../../src/compose/local.ts';
import { openModelRepo } from '../../src/compose/model-repo.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/registry.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { cliWorkspace, edgeship } from '../helpers/cli-workspace.ts';

describe('edgeship CLI', () => {
  const tempDir = useTempDirs();

  const workspace = async () => cliWorkspace(await tempDir());

  it('runs each step on its own: evaluate → publish → apply, then a re-evaluation against the deployed release', async () => {
    const { repo, gitops, flags, evaluate, gitopsLog } = await workspace();
    const evaluated = await edgeship([...evaluate, '--json'], repo);
    expect(evaluated.stderr).toContain('✔ Measured on the device: jetson-xavier-nx');
    expect(evaluated.code).toBe(0);
    const report = JSON.parse(evaluated.stdout) as EvaluationReport;
    expect(report).toMatchObject({ model: 'pump-forecaster', passed: true, version: { version: '1.0.0' } });
    expect(report.placement.map((decision) => decision.target)).toEqual([
      'plant-north',
      'plant-south',
      'substation-east',
      'cloud',
    ]);

    const gates = await edgeship(['gates', join(repo, 'out/report.json')], repo);
    expect(gates.stdout).toMatch(/^✔ anomaly_f1 ≥ 0\.5: anomaly_f1 is/);

    const published = await edgeship(['publish', ...flags, '--json'], repo);
    expect(published.code).toBe(0);
    const artifact = JSON.parse(published.stdout) as { reference: string; digest: string };
    expect(artifact.reference).toMatch(/^oci-layout:.*\/oci\/pump-forecaster@sha256:[a-f0-9]{64}$/);

    // Every wave at once (the staged path is the rollout test's).
    const applied = await edgeship(['apply', ...flags, '--all-waves'], repo);
    expect(applied.stdout).toMatch(/^committed [a-f0-9]{40} \(models\/pump-forecaster\/release\.yaml, sites\//);
    const files = (await simpleGit().raw(['--git-dir', gitops, 'show', '--name-only', '--format=', 'main']))
      .trim()
      .split('\n')
      .sort();
    expect(files).toEqual([
      'models/pump-forecaster/release.yaml',
      ...['cloud', 'plant-north', 'plant-south', 'substation-east'].flatMap((site) => [
        `sites/${site}/kustomization.yaml`,
        ...(site === 'cloud' ? [] : [`sites/${site}/pump-forecaster/edgeship-resources.yaml`]),
        `sites/${site}/pump-forecaster/kustomization.yaml`,
      ]),
    ]);
    const record = parseReleaseRecord(
      await simpleGit().raw(['--git-dir', gitops, 'show', 'main:models/pump-forecaster/release.yaml']),
      'release.yaml',
    );
    expect(record).toMatchObject({ version: '1.0.0', artifact });
    expect(await edgeship(['apply', ...flags, '--all-waves'], repo)).toMatchObject({ stdout: 'nothing to change\n' });

    const again = await edgeship([...evaluate, '--json'], repo);
    const second = JSON.parse(again.stdout) as EvaluationReport;
    expect(second.baseline).toEqual({
      version: '1.0.0',
      ...artifact,
      placements: { 'plant-north': 'edge', 'plant-south': 'edge', 'substation-east': 'edge', cloud: 'cloud' },
      history: [{ version: '1.0.0', value: report.metrics.find((metric) => metric.name === 'anomaly_f1')?.value }],
    });
    // The same model.onnx as the deployed 1.0.0: nothing to release.
    expect(second.version).toMatchObject({ version: '1.0.0', bump: 'none' });
    expect(await gitopsLog()).toEqual(['release(pump-forecaster): 1.0.0', 'GitOps repo from the edgeship template']);

    const rendered = await edgeship(['report', join(repo, 'out/report.json')], repo);
    expect(rendered.stdout).toContain('## pump-forecaster 1.0.0');
    expect(rendered.stdout).toContain(
      '➖ the model is the deployed 1.0.0 (same sha256): nothing to release · deployed: 1.0.0',
    );
  });

  it("reads a relative --gitops and --artifacts from the directory the command runs in, and the config's from the model repo", async () => {
    const { root, repo, gitops, evaluate, gitopsLog } = await workspace();
    expect((await edgeship(evaluate, repo)).code).toBe(0);
    // From the workspace's root, naming everything relative to it, as a user in a shell would.
    const typed = [
      '--repo',
      relative(root, repo),
      '--gitops',
      relative(root, gitops),
      '--artifacts',
      'oci-layout:typed-oci',
    ];
    const published = await edgeship(['publish', ...typed, '--json'], root);
    expect(published.code).toBe(0);
    expect(
      (JSON.parse(published.stdout) as { reference: string }).reference.startsWith(
        `oci-layout:${join(root, 'typed-oci')}/`,
      ),
    ).toBe(true);
    expect((await edgeship(['apply', ...typed, '--all-waves'], root)).code).toBe(0);
    expect((await gitopsLog())[0]).toBe('release(pump-forecaster): 1.0.0');
    // The config's own values stay relative to the model repo.
    const { config } = await openModelRepo(repo);
    expect(
      locationsOf(repo, { ...config, gitops: { ...config.gitops, repo: '../gitops.git' } }, {}, {}, '/elsewhere')
        .gitops,
    ).toEqual({ text: '../gitops.git', base: repo });
  });

  it('says in one line, in a clone whose npm packages are not installed yet, how to install them', async () => {
    const clone = await tempDir();
    await mkdir(join(clone, 'bin'));
    await copyFile(join(ROOT, 'bin/edgeship.js'), join(clone, 'bin/edgeship.js'));
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      execFile(process.execPath, [join(clone, 'bin/edgeship.js'), '--help'], { cwd: clone }, (error, _stdout, stderr) =>
        done({ code: error ? (error.code as number) : 0, stderr }),
      );
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe(
      `error: edgeship's npm packages are not installed in ${clone}/ (no package "tsx"): run \`bash .ci/setup\` there (or \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\`), then try again\n`,
    );
  });

  it('installs without a project config key npm does not know, which npm would warn about on every call', async () => {
    const npmrc = await readFile(join(ROOT, '.npmrc'), 'utf8');
    expect(npmrc).not.toMatch(/onnxruntime/i);
    // The install script of onnxruntime-node reads the variable instead, in setup and in the image.
    for (const file of ['.ci/setup', 'Dockerfile'])
      expect(await readFile(join(ROOT, file), 'utf8')).toContain('ONNXRUNTIME_NODE_INSTALL=skip');
  });

  it('fails publishing to an unreachable registry with a clear error, and writes nothing', async () => {
    const { repo, flags, evaluate, gitopsLog } = await workspace();
    expect((await edgeship(evaluate, repo)).code).toBe(0);
    const before = await readFile(join(repo, 'out/report.json'), 'utf8');
    const port = await freePort();
    const result = await edgeship(['publish', ...flags, '--artifacts', `127.0.0.1:${port}/models`], repo);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`error: cannot reach the registry 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(await readFile(join(repo, 'out/report.json'), 'utf8')).toBe(before);
    expect((await edgeship(['apply', ...flags], repo)).stderr).toMatch(
      /has no published artifact; publish before applying/,
    );
    expect(await gitopsLog()).toHaveLength(1);
  });

  it('rejects a config whose model name would escape the GitOps path', async () => {
    const { repo, flags, gitopsLog } = await workspace();
    const path = join(repo, '.github/edgeship.yml');
    await writeFile(path, (await readFile(path, 'utf8')).replace('model: pump-forecaster', 'model: ../../etc'));
    const result = await edgeship(['evaluate', ...flags], repo);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`error: ${path} is not a valid edgeship config:`);
    expect(result.stderr).toMatch(/model \(line 2\): expected a DNS label .*found "\.\.\/\.\.\/etc"/);
    expect(await gitopsLog()).toHaveLength(1);
  });

  it('inspects a model as JSON and diffs contracts with an exit code', async () => {
    const { repo } = await workspace();
    const model = join(repo, 'out/model.onnx');
    const inspected = await edgeship(['inspect', model, '--json'], repo);
    expect((JSON.parse(inspected.stdout) as { contract: { opset: number } }).contract.opset).toBe(17);
    const contract = join(repo, 'narrow.json');
    await writeFile(
      contract,
      JSON.stringify({
        inputs: [{ name: 'readings', dtype: 'float32', shape: [1, 32, 3] }],
        outputs: [{ name: 'forecast', dtype: 'float32', shape: ['batch', 3] }],
        opset: 17,
      }),
    );
    expect(await edgeship(['diff', contract, model], repo)).toMatchObject({
      code: 0,
      stdout: 'compatible input "readings" shape [1, 32, 3] → [batch, 32, 3]\n',
    });
    expect(await edgeship(['diff', model, contract], repo)).toMatchObject({ code: 1 });
  });

  it('checks golden samples and exits 1 on a mismatch', async () => {
    const { repo } = await workspace();
    const ok = await edgeship(['golden', join(repo, 'out/model.onnx'), join(repo, 'out/golden.json')], repo);
    expect(ok.stdout).toMatch(/^✔ 24 values over 8 samples match/);
    const broken = join(repo, 'out/broken.json');
    await writeFile(
      broken,
      (await readFile(join(repo, 'out/golden.json'), 'utf8')).replace(
        '"outputs": {"forecast": {"dtype": "float32", "dims": [1, 3], "data": [',
        '"outputs": {"forecast": {"dtype": "float32", "dims": [1, 3], "data": [99',
      ),
    );
    const bad = await edgeship(['golden', join(repo, 'out/model.onnx'), broken], repo);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^✖ 1 of 24 values differ/);
  });
});
