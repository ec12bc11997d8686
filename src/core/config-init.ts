import { stringify } from 'yaml';
import type { EdgeshipConfig } from './config.ts';
import { formatShape, type ModelContract } from './contract.ts';
import { UsageError } from './errors.ts';

export interface InitInput {
  model: string;
  /** The command that trains and writes the outputs. */
  command: string;
  /** Where the command writes model.onnx, metrics.json, golden.json and reference-stats.json. */
  outputs: string;
  gitops: string;
  contract: ModelContract;
  /** The model's metrics (metrics.json), for the primary metric and thresholds. */
  metrics?: Record<string, number>;
  primary?: string;
  /** Targets and waves from the GitOps repo's inventory. */
  inventory: Pick<EdgeshipConfig, 'targets'> & { rollout?: EdgeshipConfig['rollout'] };
}

/**
 * Which way is better for a metric, from its name, or undefined when the name does not say, or
 * when it measures the run rather than the model (how long training took gets better by getting
 * faster, not by the model improving).
 */
const LOWER_IS_BETTER = new Set([
  'loss',
  'logloss',
  'nll',
  'error',
  'err',
  'mae',
  'mse',
  'rmse',
  'mape',
  'smape',
  'perplexity',
  'ppl',
  'wer',
  'cer',
  'fpr',
  'fnr',
  'brier',
]);
const HIGHER_IS_BETTER = new Set([
  'acc',
  'accuracy',
  'f1',
  'fscore',
  'precision',
  'recall',
  'auc',
  'roc',
  'ap',
  'map',
  'iou',
  'miou',
  'dice',
  'r2',
  'bleu',
  'rouge',
  'kappa',
  'mcc',
  'specificity',
  'sensitivity',
  'top1',
  'top5',
]);
const ABOUT_THE_RUN = new Set([
  's',
  'sec',
  'secs',
  'seconds',
  'ms',
  'time',
  'duration',
  'latency',
  'epoch',
  'epochs',
  'step',
  'steps',
  'samples',
  'rows',
  'count',
  'size',
  'bytes',
  'mb',
  'memory',
  'throughput',
  'params',
]);

/** The words of a metric's name: `val_mae`, `rougeL` and `train-seconds` split as a reader splits them. */
const wordsOf = (name: string) =>
  name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);

export function directionOf(name: string): 'minimize' | 'maximize' | undefined {
  const words = wordsOf(name);
  if (words.some((word) => ABOUT_THE_RUN.has(word))) return undefined;
  if (words.some((word) => LOWER_IS_BETTER.has(word))) return 'minimize';
  if (words.some((word) => HIGHER_IS_BETTER.has(word))) return 'maximize';
  return undefined;
}

/** Thresholds start this much worse than the model's metrics today. */
const SLACK = 0.1;

/**
 * A first `.github/edgeship.yml` for a model, with comments that say what each part does and
 * where the numbers came from: the contract (as a comment: it is read from the model at every
 * release), the primary metric and thresholds from metrics.json, the targets and waves of the
 * GitOps repo's inventory.
 */
export function initConfigText(input: InitInput): string {
  const metrics = Object.entries(input.metrics ?? {});
  const primary = input.primary ?? metrics[0]?.[0];
  if (!primary)
    throw new UsageError(
      '--primary: expected the metric that decides whether a release is better (or --metrics with metrics.json), found neither',
    );
  if (input.metrics && !(primary in input.metrics))
    throw new UsageError(
      `--primary: expected a metric of metrics.json (${metrics.map(([name]) => name).join(', ')}), found "${primary}"`,
    );
  // The primary metric is gated whatever its name (taken as higher-is-better when the name does
  // not say, and the comment says so); the others only when their name says which way is better.
  const direction = (name: string) => directionOf(name) ?? (name === primary ? 'maximize' : undefined);
  const bound = (name: string, value: number, way: 'minimize' | 'maximize') =>
    way === 'minimize' ? { max: round(value * (1 + SLACK)) } : { min: round(value * (1 - SLACK)) };
  const gated = metrics.filter(([name]) => direction(name) !== undefined);
  const thresholds = Object.fromEntries(
    gated.map(([name, value]) => [name, bound(name, value, direction(name) as 'minimize' | 'maximize')]),
  );
  const suggested = metrics.filter(([name]) => direction(name) === undefined);
  // Names come from the model file: a line break in one would end the comment and write YAML.
  const comment = (text: string) => text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, ' ');
  const tensor = (kind: string) => (spec: ModelContract['inputs'][number]) =>
    comment(`#   ${kind} ${spec.name}: ${spec.dtype} ${formatShape(spec.shape)}`);
  const block = (value: unknown) => stringify(value, { lineWidth: 0 }).trimEnd();
  return [
    `# edgeship config of ${input.model}, written by edgeship init. Schema: docs/edgeship.schema.json in the edgeship repo;`,
    '# `edgeship validate` checks it, and the training outputs when they exist.',
    `model: ${input.model}`,
    '',
    '# The model as edgeship read it; every release reads it again from model.onnx and compares:',
    `#   opset ${input.contract.opset}`,
    ...input.contract.inputs.map(tensor('input ')),
    ...input.contract.outputs.map(tensor('output')),
    '',
    '# The command writes model.onnx, metrics.json, golden.json and reference-stats.json into outputs',
    '# (README, "Your own model"). The app runs it in the workflow edgeship init wrote.',
    block({ train: { command: input.command, outputs: input.outputs } }),
    '',
    comment(
      `# ${direction(primary) === 'minimize' ? 'Lower' : 'Higher'} ${primary} is better${directionOf(primary) ? '' : ' (its name does not say: change direction if lower is)'}${input.metrics ? '' : '; no metrics.json was given, so no thresholds yet'}.`,
    ),
    block({ metrics: { primary, direction: direction(primary) } }),
    '',
    ...(gated.length > 0
      ? [
          `# Thresholds start ${SLACK * 100}% worse than this model's metrics.json; a release that misses one is blocked.`,
          block({ gates: { thresholds, maxRegression: 0.02 } }),
          '',
        ]
      : []),
    ...(suggested.length > 0
      ? [
          '# Not gated: their names do not say which way is better, or they measure the run (time, size)',
          '# rather than the model. To gate one, add it under gates.thresholds, e.g.:',
          ...suggested.map(([name, value]) =>
            comment(
              `#     ${name}: { max: ${round(value * (1 + SLACK))} }   # or { min: ${round(value * (1 - SLACK))} }`,
            ),
          ),
          '',
        ]
      : []),
    "# From the GitOps repo's inventory (targets/*.yaml): `edgeship inventory <gitops checkout>` prints it again.",
    block({ targets: input.inventory.targets }),
    '',
    ...(input.inventory.rollout ? [block({ rollout: input.inventory.rollout }), ''] : []),
    block({ gitops: { repo: input.gitops } }),
    '',
  ].join('\n');
}

const round = (value: number) => Number(value.toPrecision(3));
