import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleGit } from 'simple-git';
import { inject } from 'vitest';
import { seedRepo } from '../../src/cli/demo-setup.ts';
import { TSX } from './cli.ts';
import { ROOT, flowConfig } from './fixtures.ts';

const exec = promisify(execFile);

export interface StepResult {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
}

/** The `::error` annotations a step printed, with their escaped properties and messages decoded. */
export function errorAnnotations(stdout: string): { title: string; message: string }[] {
  const decode = (text: string) =>
    text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');
  return [...stdout.matchAll(/^::error title=([^:]*)::(.*)$/gm)].map((match) => ({
    title: decode(match[1] as string),
    message: decode(match[2] as string),
  }));
}

/** Parses a GITHUB_OUTPUT file (name<<delimiter … delimiter). */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const pattern = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const match of text.matchAll(pattern)) outputs[match[1] as string] = match[3] as string;
  return outputs;
}

/**
 * Runs an action's entry point as the runner would (action.yml runs the sources through tsx):
 * INPUT_* variables, output and summary files.
 */
export async function runAction(
  name: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<StepResult> {
  const dir = await mkdtemp(join(tmpdir(), `edgeship-action-${name}-`));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  await Promise.all([writeFile(outputFile, ''), writeFile(summaryFile, '')]);
  const inputEnv = Object.fromEntries(
    Object.entries(inputs).map(([key, value]) => [`INPUT_${key.replace(/ /g, '_').toUpperCase()}`, value]),
  );
  let code = 0;
  let stdout = '';
  try {
    ({ stdout } = await exec(process.execPath, ['--import', TSX, join(ROOT, `src/actions/${name}.ts`)], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GITHUB_OUTPUT: outputFile,
        GITHUB_STEP_SUMMARY: summaryFile,
        RUNNER_TEMP: dir,
        ...inputEnv,
        ...env,
      },
    }));
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    code = failed.code;
    stdout = failed.stdout;
  }
  return {
    code,
    stdout,
    outputs: parseOutputs(await readFile(outputFile, 'utf8')),
    summary: await readFile(summaryFile, 'utf8'),
  };
}

/** A model repo at `repo` from model-repo-example, with the example's training outputs in out/ unless `trained` is false. */
export async function actionModelRepo(repo: string, trained = true): Promise<string> {
  await seedRepo(join(ROOT, 'model-repo-example'), repo, 'model');
  // Gate verdicts of these flows must not depend on how busy this machine is.
  const config = join(repo, '.github/edgeship.yml');
  await writeFile(config, flowConfig(await readFile(config, 'utf8')));
  await simpleGit(repo).raw(['-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qam', 'roomy budgets']);
  if (trained) await cp(inject('exampleOutputs'), join(repo, 'out'), { recursive: true });
  return repo;
}
