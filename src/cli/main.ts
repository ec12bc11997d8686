#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, EdgeshipError, GatesFailedError, UsageError } from '../core/errors.ts';
import { parseJson } from '../core/parse-json.ts';
import { registerCloudRunCommand } from './commands/cloud-run.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerReleaseCommands } from './commands/release.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSigningCommands } from './commands/signing.ts';
import { registerSiteTokenCommand } from './commands/site-token.ts';

/** Exit codes, for scripts and CI steps. */
export const EXIT = { ok: 0, verdict: 1, usage: 2, failure: 3 } as const;

const { version } = parseJson(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  (issues) => new Error(`edgeship's package.json: ${issues.join('; ')}`),
) as { version: string };

const program = new Command('edgeship')
  .description('Release machine-learning models to edge clusters and the cloud, the GitOps way.')
  .version(version, '-V, --version', 'print the edgeship version')
  .showHelpAfterError()
  // Commander's own errors (an unknown option, a bad value) come back here, as usage errors.
  .exitOverride()
  .addHelpText(
    'after',
    `
Exit codes:
  0  done
  1  a verdict said no: a gate failed (evaluate, gates, release), a breaking contract (diff), a golden mismatch (golden),
     a signature that does not hold (verify)
  2  the command line or the config is wrong
  3  it failed while running (a registry, the GitOps repo, training…)`,
  );
registerInitCommand(program);
registerConfigCommands(program);
registerModelCommands(program);
registerReleaseCommands(program);
registerDemoCommand(program);
registerServeCommand(program);
registerCloudRunCommand(program);
registerSiteTokenCommand(program);
registerSigningCommands(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed the message; --help and --version end here too, with 0.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof EdgeshipError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode =
      error instanceof GatesFailedError
        ? EXIT.verdict
        : error instanceof ConfigError || error instanceof UsageError
          ? EXIT.usage
          : EXIT.failure;
  } else {
    // Not an error edgeship raises on purpose: a bug, reported with where it happened.
    process.stderr.write(
      `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n(this is a bug in edgeship: please report it with the command you ran)\n`,
    );
    process.exitCode = EXIT.failure;
  }
}
