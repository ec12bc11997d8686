import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { OnnxProfiler } from '../adapters/onnx/profiler.ts';
import { resolveProfile } from '../core/profiles.ts';
import { ConsoleProgress } from '../compose/progress.ts';
import { openModelRepo } from '../compose/model-repo.ts';
import { blame, booleanInput, input, InputError, requiredInput, runStep } from './action-io.ts';
import { runEnvironment } from '../compose/run-settings.ts';

/**
 * The `profile` step, for a runner on the device a hardware profile describes (e.g. a
 * self-hosted Jetson): measures the model there and writes the result for `evaluate`'s
 * `measured` input, so placement uses real device latency instead of an emulated estimate.
 */
await runStep('profile', async () => {
  const { config } = await blame('repo', () => openModelRepo(input('repo', '.')));
  const name = requiredInput('profile');
  let profile;
  try {
    profile = resolveProfile(name, config.profiles);
  } catch (error) {
    throw new InputError('profile', `input "profile": ${(error as Error).message}`, { cause: error });
  }
  const model = resolve(requiredInput('model'));
  const onDevice = booleanInput('on-device', true);
  const result = await blame('model', () =>
    new ConsoleProgress(process.stdout).step(`Profiling on ${name}${onDevice ? ' (on the device)' : ''}`, () =>
      new OnnxProfiler().profile(model, name, profile, { ...config.profiling, onDevice }),
    ),
  );
  const artifact = `edgeship-profile-${name}`;
  const directory = join(runEnvironment().RUNNER_TEMP ?? resolve('.'), artifact);
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  core.setOutput('directory', directory);
  core.setOutput('artifact', artifact);
  core.setOutput('p95-ms', result.estimated.p95Ms.toFixed(3));
  await core.summary
    .addRaw(
      `**${name}**${onDevice ? ' on the device' : ''}: p50 ${result.estimated.p50Ms.toFixed(2)} ms, p95 ${result.estimated.p95Ms.toFixed(2)} ms, peak ${result.peakMemoryMb.toFixed(1)} MiB\n`,
    )
    .write();
});
