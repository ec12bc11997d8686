import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../adapters/fs/config-file.ts';
import { configJsonSchema } from '../../core/config-json-schema.ts';
import { wavesOf } from '../../core/config.ts';
import { emit } from '../output.ts';

export function registerConfigCommands(program: Command): void {
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
