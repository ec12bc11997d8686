import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_PATH } from '../../core/config.ts';
import { ConfigError, messageOf, UsageError } from '../../core/errors.ts';
import { jsonOrUndefined } from '../../core/parse-json.ts';
import { modules } from '../lazy.ts';
import { WORKFLOW_PATH, WORKFLOW_TEMPLATE } from './config.ts';

/** adapters/fs/config-file.ts's CONFIG_PATH, named here so registering the command does not load zod. */

interface InitOptions {
  repo: string;
  model: string;
  gitops: string;
  name?: string;
  metrics?: string;
  primary?: string;
  train: string;
  inventory?: string;
  force?: boolean;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(
      `Start a model repo: a commented ${CONFIG_PATH} for a model (its contract, the GitOps repo's targets, gates from its metrics) and the training workflow`,
    )
    .requiredOption('--model <model.onnx>', 'the trained model (inside the repo: its directory becomes train.outputs)')
    .requiredOption(
      '--gitops <repo>',
      'the GitOps repo (a bare repo path or git URL): its targets/*.yaml become the targets and waves',
    )
    .option('--repo <dir>', 'model repo checkout', '.')
    .option('--name <name>', "model name: the OCI repository and GitOps directory (default: the repo directory's name)")
    .option('--metrics <metrics.json>', "the model's metrics: the first is the primary metric, each gets a threshold")
    .option('--primary <metric>', 'the metric that decides whether a release is better')
    .option('--train <command>', 'the command that trains and writes the outputs', 'python3 train.py')
    .option('--inventory <dir>', "target inventory (targets/*.yaml) instead of the GitOps repo's")
    .option('--force', `overwrite an existing ${CONFIG_PATH}`)
    .action(async (options: InitOptions) => {
      const { loadConfig, readInventory, OnnxInspector, initConfigText, parseMetrics } = await modules(
        import('../../adapters/fs/config-file.ts'),
        import('../../adapters/fs/inventory-files.ts'),
        import('../../adapters/onnx/inspector.ts'),
        import('../../core/config-init.ts'),
        import('../../core/metrics.ts'),
      );
      const repo = resolve(options.repo);
      const target = join(repo, CONFIG_PATH);
      if (!options.force && (await exists(target)))
        throw new UsageError(`${target} exists already; pass --force to overwrite it`);
      const model = resolve(options.model);
      const inspection = await new OnnxInspector().inspect(model);
      const metricsText = options.metrics ? await readFile(resolve(options.metrics), 'utf8') : undefined;
      const primary = options.primary ?? (metricsText === undefined ? undefined : firstKey(metricsText));
      const metrics =
        metricsText === undefined
          ? undefined
          : parseMetrics(metricsText, primary ?? '', resolve(options.metrics ?? ''));
      const inside = relative(repo, dirname(model));
      const outputs = inside === '' || inside.startsWith('..') || isAbsolute(inside) ? 'out' : inside;
      const text = initConfigText({
        model: options.name ?? dnsName(basename(repo)),
        command: options.train,
        outputs,
        gitops: options.gitops,
        contract: inspection.contract,
        ...(metrics && { metrics }),
        ...(primary && { primary }),
        inventory: options.inventory ? await readInventory(options.inventory) : await inventoryOf(options.gitops, repo),
      });
      await mkdir(dirname(target), { recursive: true });
      const previous = await readFile(target, 'utf8').catch(() => undefined);
      await writeFile(target, text);
      // What init writes must validate; if it does not, the repo is left as it was.
      try {
        await loadConfig(repo);
      } catch (error) {
        if (previous === undefined) await rm(target);
        else await writeFile(target, previous);
        throw error;
      }
      const workflow = join(repo, WORKFLOW_PATH);
      await mkdir(dirname(workflow), { recursive: true });
      await copyFile(WORKFLOW_TEMPLATE, workflow);
      process.stdout.write(
        `wrote ${target}\nwrote ${workflow}\nnext: train so that ${outputs}/ holds the four outputs, then edgeship validate\n`,
      );
    });
}

/** The first metric of a metrics.json, the primary one unless --primary says otherwise. */
function firstKey(text: string): string | undefined {
  // Text that is not JSON: parseMetrics says what is wrong with it.
  const data = jsonOrUndefined(text);
  return data && typeof data === 'object' && !Array.isArray(data) ? Object.keys(data)[0] : undefined;
}

/** A directory name as a model name (a DNS label). */
function dnsName(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  if (!label) throw new UsageError(`--name: the repo directory "${name}" makes no model name; pass --name`);
  return label;
}

/** The GitOps repo's inventory, read from a shallow clone of its default branch. */
async function inventoryOf(gitops: string, repo: string) {
  const [{ readInventory }, { simpleGit }] = await Promise.all([
    import('../../adapters/fs/inventory-files.ts'),
    import('simple-git'),
  ]);
  const remote = /^[a-z]+:\/\/|^git@/.test(gitops) || isAbsolute(gitops) ? gitops : resolve(repo, gitops);
  const scratch = await mkdtemp(join(tmpdir(), 'edgeship-init-'));
  try {
    await simpleGit()
      .clone(remote, scratch, ['--depth', '1'])
      .catch((error: unknown) => {
        throw new UsageError(
          `--gitops: cannot clone ${remote} (${messageOf(error).split('\n')[0]}); pass --inventory <dir> with targets/*.yaml instead`,
        );
      });
    return await readInventory(scratch).catch((error: unknown) => {
      if (error instanceof ConfigError)
        throw new UsageError(
          `--gitops: ${remote} has no target inventory (targets/*.yaml, see templates/gitops/targets in the edgeship repo); pass --inventory <dir>`,
        );
      throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
