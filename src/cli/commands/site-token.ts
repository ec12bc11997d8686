import type { Command } from 'commander';
import { EdgeshipError, UsageError } from '../../core/errors.ts';
import { siteDriftToken } from '../../core/training-run.ts';
import { runEnvironment } from '../../compose/run-settings.ts';

/**
 * `edgeship site-token`: the token one edge site sends drift evidence for one model with
 * (EDGESHIP_DRIFT_TOKEN in the site's `edgeship-drift` Secret). Run by the operator, who holds
 * EDGESHIP_DRIFT_SECRET; the token is good for nothing but that repo, model and site.
 */
export function registerSiteTokenCommand(program: Command): void {
  program
    .command('site-token')
    .description("Print the drift token of one site for one model (needs EDGESHIP_DRIFT_SECRET, the app's)")
    .requiredOption('--repo <owner/name>', 'the model repo')
    .requiredOption('--model <name>', 'the model')
    .requiredOption('--site <name>', 'the site, as its edge server reports it (EDGESHIP_SITE)')
    .action((options: { repo: string; model: string; site: string }) => {
      const secret = runEnvironment().EDGESHIP_DRIFT_SECRET;
      if (!secret)
        throw new EdgeshipError("site-token: expected the app's EDGESHIP_DRIFT_SECRET in the environment, found none");
      if (!/^[\w.-]+\/[\w.-]+$/.test(options.repo))
        throw new UsageError(`--repo: expected owner/name, found "${options.repo}"`);
      process.stdout.write(`${siteDriftToken(secret, options.repo, options.model, options.site)}\n`);
    });
}
