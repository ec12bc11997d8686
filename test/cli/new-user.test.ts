import { execFile } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { describe, expect, inject, it } from 'vitest';
import { seedGitOpsRemote } from '../../src/cli/demo-setup.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { runEdgeship } from '../helpers/cli.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { useTempDirs } from '../helpers/temp.ts';

const exec = promisify(execFile);
const AUTHOR = ['-c', 'user.name=Data Scientist', '-c', 'user.email=ds@example.com'];

/**
 * What the user's training writes, for two versions of a model with an int64 input and an fp32
 * one: the model, its metrics, golden samples (the framework's outputs for a few inputs) and
 * reference statistics. Version 2 renames the output "y" to "score": a breaking change; version 3
 * renames it back: another.
 */
async function prepare(repo: string): Promise<void> {
  const zoo = inject('modelZoo');
  const ids = [1, 2, 3, 4, 5, 6, 7, 8];
  const x = [0.5, 0.25, 0.125, 1, 2, 4, 8, 16];
  const y = ids.map((id, index) => id + (x[index] as number));
  const versions = {
    v1: { file: 'ids-and-features.onnx', output: 'y', metrics: { accuracy: 0.9, val_loss: 0.3 } },
    v2: { file: 'ids-and-features-renamed.onnx', output: 'score', metrics: { accuracy: 0.92, val_loss: 0.28 } },
    v3: { file: 'ids-and-features.onnx', output: 'y', metrics: { accuracy: 0.93, val_loss: 0.27 } },
  };
  for (const [version, model] of Object.entries(versions)) {
    const directory = join(repo, 'prepared', version);
    await mkdir(directory, { recursive: true });
    await cp(join(zoo, model.file), join(directory, 'model.onnx'));
    await writeFile(join(directory, 'metrics.json'), JSON.stringify(model.metrics));
    const golden = {
      framework: 'numpy',
      samples: [
        {
          inputs: { ids: { dtype: 'int64', dims: [2, 4], data: ids }, x: { dtype: 'float32', dims: [2, 4], data: x } },
          outputs: {
            [model.output]: { dtype: 'float32', dims: [2, 4], data: y },
            ids_out: { dtype: 'int64', dims: [2, 4], data: ids },
          },
        },
      ],
    };
    await writeFile(join(directory, 'golden.json'), JSON.stringify(golden));
    const features = [0, 1, 2, 3].map((index) => ({
      name: `x${index}`,
      input: 'x',
      index,
      edges: [0, 1, 2],
      proportions: [0.25, 0.25, 0.25, 0.25],
    }));
    await writeFile(join(directory, 'reference-stats.json'), JSON.stringify({ count: 100, features }));
  }
  await writeFile(join(repo, 'train.sh'), 'set -e\nmkdir -p out\ncp prepared/"$(cat version)"/* out/\n');
  await writeFile(join(repo, 'version'), 'v1\n');
}

describe('a new user releases their own model with the CLI', () => {
  const tempDir = useTempDirs();

  it('init → validate → release → a breaking release blocked → approved → apply → rollout --promote to done', async () => {
    const root = await tempDir();
    const gitops = await seedGitOpsRemote(join(ROOT, 'templates/gitops'), root);
    const repo = join(root, 'sensor-model');
    await mkdir(repo);
    await simpleGit(repo).init(['--initial-branch=main']);
    await prepare(repo);
    const commit = async (message: string) => {
      await simpleGit(repo).raw([...AUTHOR, 'add', '-A']);
      await simpleGit(repo).raw([...AUTHOR, 'commit', '-q', '-m', message]);
    };
    const said: string[] = [];
    const edgeship = async (...args: string[]) => {
      const result = await runEdgeship(args, { cwd: repo, env: { ...process.env, EDGESHIP_GITOPS: '' } });
      said.push(result.stdout, result.stderr);
      return result;
    };
    const record = async () =>
      parseReleaseRecord(
        await simpleGit().raw(['--git-dir', gitops, 'show', 'main:models/sensor-model/release.yaml']),
        'release.yaml',
      );
    /** `rollout --promote` until the rollout is done, as a user without Argo CD would. */
    const promoteToDone = async (version: string) => {
      for (let step = 0; step < 4; step += 1) {
        const result = await edgeship('rollout', '--promote');
        expect(result.code).toBe(0);
        if (result.stdout.startsWith(`sensor-model ${version}: rolled out to every wave`)) return;
        expect(result.stdout).toMatch(new RegExp(`^sensor-model ${version.replace(/\./g, '\\.')}: sent wave \\w+`));
      }
      throw new Error(`the rollout of ${version} did not finish`);
    };

    // The user trained once, so out/ holds the four outputs.
    await exec('sh', ['train.sh'], { cwd: repo });
    const init = await edgeship(
      'init',
      '--model',
      'out/model.onnx',
      '--gitops',
      gitops,
      '--metrics',
      'out/metrics.json',
      '--train',
      'sh train.sh',
    );
    expect(init.code).toBe(0);
    const config = await readFile(join(repo, '.github/edgeship.yml'), 'utf8');
    expect(config).toContain('#   input  ids: int64 [batch, 4]');
    expect(config).toContain('primary: accuracy');
    expect(config).toMatch(/accuracy:\n\s+min: 0\.81/);
    expect(config).toMatch(/val_loss:\n\s+max: 0\.33/);
    expect(await readFile(join(repo, '.github/workflows/edgeship-train.yml'), 'utf8')).toContain('edgeship');
    expect((await edgeship('init', '--model', 'out/model.onnx', '--gitops', gitops)).code).toBe(2);

    const validated = await edgeship('validate');
    expect(validated.code).toBe(0);
    expect(validated.stdout.match(/^✔ /gm)).toHaveLength(5);
    await commit('sensor model, trained');

    const first = await edgeship('release');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('## sensor-model 1.0.0');
    expect(first.stdout).toContain('next: `edgeship rollout`');
    expect(JSON.parse(await readFile(join(repo, 'out/report.json'), 'utf8'))).toMatchObject({
      version: { version: '1.0.0' },
      passed: true,
    });
    expect((await edgeship('gates', 'out/report.json')).code).toBe(0);
    expect((await record()).rollout?.waves).toEqual({ canary: expect.any(String) as string });
    await promoteToDone('1.0.0');
    expect((await record()).rollout?.status).toBe('done');

    // Version 2 renames an output: the release is blocked, and says how to approve it here.
    await writeFile(join(repo, 'version'), 'v2\n');
    await commit('rename y to score');
    const blocked = await edgeship('release');
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain('❌ failed: Contract compatible with deployed clients');
    expect(blocked.stdout).toContain(
      'approve it with `gates: { allowBreakingContract: "2.0.0" }` in .github/edgeship.yml',
    );
    expect((await edgeship('gates', 'out/report.json')).code).toBe(1);
    // Applying it anyway is a verdict too (exit 1), naming each failed gate and the way out.
    const refused = await edgeship('apply');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'sensor-model 2.0.0 failed its gates, so it is not applied:\n  - Contract compatible with deployed clients: breaking: output "y" renamed to "score"',
    );
    expect(refused.stderr).toContain(
      'Fix what they name and release again (`edgeship gates <report.json>` lists them)',
    );
    expect((await record()).version).toBe('1.0.0');

    // Approved for this release: the flag, then evaluate, publish and apply step by step.
    await writeFile(
      join(repo, '.github/edgeship.yml'),
      config.replace('  maxRegression: 0.02', '  maxRegression: 0.02\n  allowBreakingContract: "2.0.0"'),
    );
    const evaluated = await edgeship('evaluate');
    expect(evaluated.code).toBe(0);
    expect(evaluated.stdout).toContain('## sensor-model 2.0.0');
    expect(evaluated.stdout).toContain('Breaking change, allowed by gates.allowBreakingContract in the local loop.');
    expect((await edgeship('publish')).code).toBe(0);
    const applied = await edgeship('apply');
    expect(applied).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(
        /^sensor-model 2\.0\.0: sent wave canary \(substation-east\) in [0-9a-f]{40}\n/,
      ) as string,
    });
    await promoteToDone('2.0.0');
    const done = await record();
    expect(done).toMatchObject({ version: '2.0.0', rollout: { status: 'done' } });
    expect(Object.values(done.targets).map((target) => target.version)).toEqual(['2.0.0', '2.0.0', '2.0.0', '2.0.0']);
    // Version 3 renames the output back: breaking again, and the approval of 2.0.0 left in the
    // config does not let it through.
    await writeFile(join(repo, 'version'), 'v3\n');
    await commit('rename score back to y');
    const again = await edgeship('release');
    expect(again.code).toBe(1);
    expect(again.stdout).toContain(
      'approve it with `gates: { allowBreakingContract: "3.0.0" }` in .github/edgeship.yml (gates.allowBreakingContract allows 2.0.0, not 3.0.0)',
    );
    expect((await record()).version).toBe('2.0.0');
    // What the terminal showed carries no HTML character references, and the command is code.
    expect(said.join('\n')).not.toMatch(/&#\d+;/);
    expect(evaluated.stdout).toContain('- command: `sh train.sh`');
    expect(evaluated.stdout).toMatch(/- trained at \d{4}-\d\d-\d\dT\d\d:\d\d:/);
    // Nothing the CLI wrote itself was ever reported as a person's edit.
    expect(said.join('\n')).not.toMatch(/by hand/);
    // About 20 commands, each a process of its own: minutes on a busy machine.
  }, 240_000);
});
