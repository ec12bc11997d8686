import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { EdgeshipConfig } from '../../core/config.ts';
import { modules } from '../lazy.ts';
import { emit } from '../output.ts';

/** The training workflow template every model repo uses. */
export const WORKFLOW_TEMPLATE = fileURLToPath(
  new URL('../../../templates/workflows/edgeship-train.yml', import.meta.url),
);
export const WORKFLOW_PATH = '.github/workflows/edgeship-train.yml';

/** The training outputs, checked (services/outputs-check.ts) and said one line each. */
async function checkOutputs(directory: string, config: EdgeshipConfig): Promise<string[]> {
  const { collectOutputs, OnnxInspector, checkTrainingOutputs } = await modules(
    import('../../adapters/training/local-process.ts'),
    import('../../adapters/onnx/inspector.ts'),
    import('../../services/outputs-check.ts'),
  );
  const outputs = await collectOutputs(directory).catch(() => undefined);
  if (!outputs) return [`· no training outputs in ${directory} yet: train, then validate again`];
  const { contract, metrics, samples, stats } = await checkTrainingOutputs(new OnnxInspector(), outputs, config);
  return [
    `✔ ${outputs.model}: opset ${contract.opset}, ${contract.inputs.length} inputs, ${contract.outputs.length} outputs`,
    `✔ ${outputs.metrics}: ${Object.keys(metrics).length} metrics, ${config.metrics.primary} = ${metrics[config.metrics.primary]}`,
    `✔ ${outputs.golden}: ${samples} samples`,
    `✔ ${outputs.reference}: ${stats.features.length} features from ${stats.count} rows`,
  ];
}

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
    .description(
      "Turn the GitOps repo's target inventory (targets/*.yaml) into the targets and rollout of .github/edgeship.yml",
    )
    .argument('<dir>', 'the inventory directory, or a GitOps repo checkout with targets/')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const [{ readInventory }, { stringify }] = await Promise.all([
        import('../../adapters/fs/inventory-files.ts'),
        import('yaml'),
      ]);
      const config = await readInventory(dir);
      emit(
        Boolean(options.json),
        config,
        () => `# From ${dir}: paste into .github/edgeship.yml.\n${stringify(config, { lineWidth: 0 })}`,
      );
    });

  program
    .command('validate')
    .description(
      'Validate .github/edgeship.yml of a model repo, and the training outputs when they exist (model.onnx, metrics.json, golden.json, reference-stats.json)',
    )
    .option('--repo <dir>', 'model repo checkout', '.')
    .option('--json', 'print the parsed config as JSON')
    .action(async (options: { repo: string; json?: boolean }) => {
      const { loadConfig, wavesOf } = await modules(
        import('../../adapters/fs/config-file.ts'),
        import('../../core/config.ts'),
      );
      const config = await loadConfig(options.repo);
      const outputs = await checkOutputs(resolve(options.repo, config.train.outputs), config);
      emit(Boolean(options.json), config, () =>
        [
          `✔ ${config.model}: ${config.targets.length} targets, ${wavesOf(config).length} waves, primary metric ${config.metrics.primary} (${config.metrics.direction})`,
          ...config.targets.map(
            (target) =>
              `  ${target.kind.padEnd(5)} ${target.name} on ${target.profile}, p95 ≤ ${target.latencyBudgetMs} ms`,
          ),
          ...outputs,
        ].join('\n'),
      );
    });

  program
    .command('schema')
    .description('Print the JSON Schema of .github/edgeship.yml')
    .option('--out <file>', 'write it to a file instead')
    .action(async (options: { out?: string }) => {
      const { configJsonSchema } = await import('../../core/config-json-schema.ts');
      const text = `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
      if (!options.out) return void process.stdout.write(text);
      await mkdir(dirname(options.out), { recursive: true });
      await writeFile(options.out, text);
    });
}
