#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EdgeshipError } from '../core/errors.ts';
import { registerCloudRunCommand } from './commands/cloud-run.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerReleaseCommands } from './commands/release.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSiteTokenCommand } from './commands/site-token.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('edgeship')
  .description('Release machine-learning models to edge clusters and the cloud, the GitOps way.')
  .version(version, '-V, --version', 'print the edgeship version')
  .showHelpAfterError();
registerConfigCommands(program);
registerModelCommands(program);
registerReleaseCommands(program);
registerDemoCommand(program);
registerServeCommand(program);
registerCloudRunCommand(program);
registerSiteTokenCommand(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof EdgeshipError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = 1;
  } else throw error;
}
