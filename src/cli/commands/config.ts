import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { loadConfig } from '../../adapters/fs/config-file.ts';
import { readInventory } from '../../adapters/fs/inventory-files.ts';
import { configJsonSchema } from '../../core/config-json-schema.ts';
import { wavesOf } from '../../core/config.ts';
import { stringify } from 'yaml';
import { emit } from '../output.ts';

/** The training workflow template every model repo uses. */
export const WORKFLOW_TEMPLATE = fileURLToPath(new URL('../../../templates/workflows/edgeship-train.yml', import.meta.url));
export const WORKFLOW_PATH = '.github/workflows/edgeship-train.yml';

export function registerConfigCommands(program: Command): void {
  program
    .command('init-workflow')
    .description(`Copy the training workflow the app dispatches into a model repo (${WORKFLOW_PATH})`)
    .option('--repo <dir>', 'model repo checkout', '.')
    .action(async (options: { repo: string }) => {
      const target = join(resolve(options.repo), WORKFLOW_PATH);
      await mkdir(dirname(target), { recursive: true });
      await copyFile(WORKFLOW_TEMPLATE, target);
      process.stdout.write(`wrote ${target}\n`);
    });

  program
    .command('inventory')
    .description('Turn the GitOps repo\'s target inventory (targets/*.yaml) into the targets and rollout of .github/edgeship.yml')
    .argument('<dir>', 'the inventory directory, or a GitOps repo checkout with targets/')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const config = await readInventory(dir);
      emit(Boolean(options.json), config, () => `# From ${dir}: paste into .github/edgeship.yml.\n${stringify(config, { lineWidth: 0 })}`);
    });

  program
    .command('validate')
    .description('Validate .github/edgeship.yml of a model repo')
    .option('--repo <dir>', 'model repo checkout', '.')
    .option('--json', 'print the parsed config as JSON')
    .action(async (options: { repo: string; json?: boolean }) => {
      const config = await loadConfig(options.repo);
      emit(Boolean(options.json), config, () =>
        [
          `✔ ${config.model}: ${config.targets.length} targets, ${wavesOf(config).length} waves, primary metric ${config.metrics.primary} (${config.metrics.direction})`,
          ...config.targets.map((target) => `  ${target.kind.padEnd(5)} ${target.name} on ${target.profile}, p95 ≤ ${target.latencyBudgetMs} ms`),
        ].join('\n'),
      );
    });

  program
    .command('schema')
    .description('Print the JSON Schema of .github/edgeship.yml')
    .option('--out <file>', 'write it to a file instead')
    .action(async (options: { out?: string }) => {
      const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
      if (!options.out) return void process.stdout.write(text);
      await mkdir(dirname(options.out), { recursive: true });
      await writeFile(options.out, text);
    });
}
