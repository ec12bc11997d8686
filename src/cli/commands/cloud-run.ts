import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import { emit } from '../output.ts';
import { modules } from '../lazy.ts';
import { ConsoleProgress } from '../../compose/progress.ts';
import { runEnvironment } from '../../compose/run-settings.ts';

interface CloudRunOptions {
  repoUrl?: string;
  sha?: string;
  runKey?: string;
  branch: string;
  reason: string;
  context?: string;
  workdir?: string;
  callbackUrl?: string;
  callbackToken?: string;
  json?: boolean;
}

const env = runEnvironment();

/** `edgeship cloud-run`: the container command of a Kubernetes Job or a pipeline's step. */
export function registerCloudRunCommand(program: Command): void {
  program
    .command('cloud-run')
    .description(
      'Clone a commit, train, evaluate, publish and store the report for the app (what a training Job or pipeline step runs)',
    )
    .option('--repo-url <url>', 'model repo to clone (EDGESHIP_REPO_URL)', env.EDGESHIP_REPO_URL)
    .option('--sha <sha>', 'commit to train (EDGESHIP_SHA)', env.EDGESHIP_SHA)
    .option('--run-key <key>', 'run key the app gave this run (EDGESHIP_RUN_KEY)', env.EDGESHIP_RUN_KEY)
    .option('--branch <name>', 'branch of the commit (EDGESHIP_BRANCH)', env.EDGESHIP_BRANCH ?? 'main')
    .option('--reason <reason>', 'push, retrain or drift (EDGESHIP_REASON)', env.EDGESHIP_REASON ?? 'push')
    .option('--context <text>', 'drift evidence or the retrain request (EDGESHIP_CONTEXT)', env.EDGESHIP_CONTEXT)
    .option('--workdir <dir>', 'where to clone (default: a new temp dir)')
    .option(
      '--callback-url <url>',
      'where to tell the app the run ended (EDGESHIP_CALLBACK_URL)',
      env.EDGESHIP_CALLBACK_URL,
    )
    .option(
      '--callback-token <token>',
      "this run's callback token (EDGESHIP_CALLBACK_TOKEN)",
      env.EDGESHIP_CALLBACK_TOKEN,
    )
    .option('--json', 'machine-readable output')
    .action(async (options: CloudRunOptions) => {
      const missing = (['repoUrl', 'sha', 'runKey'] as const).filter((name) => !options[name]);
      if (missing.length > 0)
        throw new EdgeshipError(
          `cloud-run: expected ${missing.map((name) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')} (or EDGESHIP_REPO_URL, EDGESHIP_SHA, EDGESHIP_RUN_KEY), found none`,
        );
      const [repoUrl, sha, key] = [options.repoUrl as string, options.sha as string, options.runKey as string];
      const { checkoutCommit, cloudRun, localDeps, openModelRepo } = await modules(
        import('../../adapters/git/checkout.ts'),
        import('../../services/cloud-run.ts'),
        import('../../compose/local.ts'),
        import('../../compose/model-repo.ts'),
      );
      try {
        const directory = options.workdir ?? (await mkdtemp(join(tmpdir(), 'edgeship-run-')));
        const progress = new ConsoleProgress();
        await progress.step(`Checking out ${sha.slice(0, 7)}`, () =>
          checkoutCommit(repoUrl, sha, directory, env.EDGESHIP_GIT_TOKEN),
        );
        const { config } = await openModelRepo(directory);
        const deps = localDeps(directory, config, progress);
        const { report, stored } = await cloudRun(deps, {
          directory,
          config,
          key,
          sha,
          branch: options.branch,
          reason: options.reason,
          ...(options.context && { context: options.context }),
        });
        const summary = {
          model: report.model,
          version: report.version.version,
          passed: report.passed,
          artifact: report.artifact?.reference,
          report: stored.reference,
        };
        emit(
          Boolean(options.json),
          summary,
          () =>
            `${report.model} ${report.version.version}: gates ${report.passed ? 'passed' : 'failed'}; artifact ${summary.artifact ?? ''}; report ${stored.reference}`,
        );
      } finally {
        if (options.callbackUrl) await callBack(options.callbackUrl, options.callbackToken ?? '', key);
      }
    });
}

/** Tells the app the run ended, so it need not wait for its next look; a failure only warns. */
async function callBack(url: string, token: string, key: string): Promise<void> {
  const { callJson } = await import('../../adapters/http/json-api.ts');
  await callJson(
    { method: 'POST', url, body: { runKey: key }, token },
    {
      unreachable: `the app at ${url} is unreachable`,
      failed: ({ status, text }) => new EdgeshipError(`${status} ${text.slice(0, 200)}`),
    },
  ).catch((error: unknown) =>
    process.stderr.write(
      `warning: the app's callback ${url} failed (${messageOf(error)}); it will see the end at its next look\n`,
    ),
  );
}
