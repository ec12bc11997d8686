import { resolve } from 'node:path';
import * as core from '@actions/core';
import { LocalProcessBackend } from '../adapters/training/local-process.ts';
import { ConsoleProgress } from '../compose/progress.ts';
import { openModelRepo } from '../compose/model-repo.ts';
import { blame, input, runStep } from './action-io.ts';
import { childEnvironment } from '../compose/run-settings.ts';

const OUTPUTS_ARTIFACT = 'edgeship-outputs';

/** The `train` step: runs the config's training command; the action uploads what it wrote. */
await runStep('train', async () => {
  const { directory, config } = await blame('repo', () => openModelRepo(input('repo', '.')));
  const outputs = input('outputs', config.train.outputs);
  const trained = await blame('outputs', () =>
    new ConsoleProgress(process.stdout).step(`Training ${config.model}`, (note) =>
      new LocalProcessBackend(childEnvironment()).train({ directory, command: config.train.command, outputs }, note),
    ),
  );
  core.setOutput('directory', resolve(trained.directory));
  core.setOutput('artifact', OUTPUTS_ARTIFACT);
});
