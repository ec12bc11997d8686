import { join } from 'node:path';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { ModelInspector } from '../../ports.ts';
import { diffContracts, formatShape, modelContractSchema, type ModelContract } from '../../core/contract.ts';
import { UsageError } from '../../core/errors.ts';
import { parseJsonWith } from '../../core/parse-json.ts';
import { BUILTIN_PROFILES, resolveProfile } from '../../core/builtin-profiles.ts';
import { emit } from '../output.ts';
import { ConsoleProgress } from '../../compose/progress.ts';

/** ONNX Runtime's inspector, loaded when a command needs it, so the others start fast. */
const inspector = async (): Promise<ModelInspector> =>
  new (await import('../../adapters/onnx/inspector.ts')).OnnxInspector();

/** A whole-number flag: commander names the flag and the value when this throws. */
const whole = (least: number) => (value: string) => {
  const number = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(number) || number < least)
    throw new InvalidArgumentError(`expected a whole number of at least ${least}, found "${value}"`);
  return number;
};
const tolerance = (value: string) => {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0)
    throw new InvalidArgumentError(`expected a number ≥ 0, found "${value}"`);
  return number;
};

export function registerModelCommands(program: Command): void {
  program
    .command('inspect <model>')
    .description('Show the contract of an ONNX model: inputs, outputs, opset, size, sha256')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: { json?: boolean }) => {
      const inspection = await (await inspector()).inspect(model);
      emit(Boolean(options.json), inspection, () =>
        [
          `${model}: opset ${inspection.contract.opset}, IR ${inspection.irVersion}, ${inspection.producer || 'unknown producer'}, ${inspection.sizeBytes} bytes`,
          `sha256 ${inspection.sha256}`,
          ...inspection.contract.inputs.map(
            (tensor) => `input  ${tensor.name}: ${tensor.dtype} ${formatShape(tensor.shape)}`,
          ),
          ...inspection.contract.outputs.map(
            (tensor) => `output ${tensor.name}: ${tensor.dtype} ${formatShape(tensor.shape)}`,
          ),
        ].join('\n'),
      );
    });

  program
    .command('diff <baseline> <candidate>')
    .description('Compare two contracts (ONNX models or contract.json files); exits 1 when breaking')
    .option('--json', 'machine-readable output')
    .action(async (baseline: string, candidate: string, options: { json?: boolean }) => {
      const diff = diffContracts(await contractOf(baseline), await contractOf(candidate));
      emit(Boolean(options.json), diff, () =>
        diff.changes.length === 0
          ? 'contracts are identical'
          : diff.changes.map((change) => `${change.severity.padEnd(10)} ${change.detail}`).join('\n'),
      );
      if (diff.breaking) process.exitCode = 1;
    });

  program
    .command('profile <model>')
    .description('Measure latency percentiles and peak memory under a hardware profile')
    .option('--profile <name>', `hardware profile (${Object.keys(BUILTIN_PROFILES).join(', ')})`, 'cloud-cpu')
    .option('--runs <n>', 'timed runs', whole(10), 300)
    .option('--warmup <n>', 'untimed runs first', whole(0), 20)
    .option('--batch <n>', 'size of symbolic dimensions', whole(1), 1)
    .option(
      '--on-device',
      'this machine is the device the profile describes: no speed factor (for edgeship evaluate --measured)',
    )
    .option('--out <dir>', 'also write the result to <dir>/<profile>.json')
    .option('--json', 'machine-readable output')
    .action(
      async (
        model: string,
        options: {
          profile: string;
          runs: number;
          warmup: number;
          batch: number;
          onDevice?: boolean;
          out?: string;
          json?: boolean;
        },
      ) => {
        const profile = resolveProfile(options.profile, {});
        const { OnnxProfiler } = await import('../../adapters/onnx/profiler.ts');
        const result = await new ConsoleProgress().step(`Profiling ${model} on ${options.profile}`, () =>
          new OnnxProfiler().profile(model, options.profile, profile, {
            runs: options.runs,
            warmup: options.warmup,
            batch: options.batch,
            ...(options.onDevice && { onDevice: true }),
          }),
        );
        if (options.out) {
          await mkdir(options.out, { recursive: true });
          await writeFile(join(options.out, `${options.profile}.json`), `${JSON.stringify(result, null, 2)}\n`);
        }
        emit(Boolean(options.json), result, () => {
          const e = result.estimated;
          return `${options.profile}: p50 ${e.p50Ms.toFixed(3)} ms, p95 ${e.p95Ms.toFixed(3)} ms, p99 ${e.p99Ms.toFixed(3)} ms, peak ${result.peakMemoryMb.toFixed(1)} MiB, session ${result.sessionCreateMs.toFixed(1)} ms`;
        });
      },
    );

  program
    .command('golden <model> <golden>')
    .description('Run the model on golden inputs and compare with the framework outputs; exits 1 on mismatch')
    .option('--atol <x>', 'absolute tolerance', tolerance, 1e-4)
    .option('--rtol <x>', 'relative tolerance', tolerance, 1e-3)
    .option('--json', 'machine-readable output')
    .action(async (model: string, goldenPath: string, options: { atol: number; rtol: number; json?: boolean }) => {
      const { checkGolden } = await import('../../services/evaluate.ts');
      const result = await checkGolden(await inspector(), model, goldenPath, options);
      emit(Boolean(options.json), result, () =>
        result.passed
          ? `✔ ${result.compared} values over ${result.samples} samples match, max |Δ| ${result.maxAbsError.toExponential(2)}`
          : `✖ ${result.problems[0] ?? `${result.mismatches} of ${result.compared} values differ, max |Δ| ${result.maxAbsError.toExponential(2)}`}`,
      );
      if (!result.passed) process.exitCode = 1;
    });

  program
    .command('joint <edge> <cloud> <evaluation>')
    .description(
      'A small model at the edge, a large one in the cloud: the accuracy of the pair against the share of requests sent to the cloud, over a labelled evaluation set, and the threshold a rule chooses',
    )
    .option('--confidence-output <name>', "the edge model's confidence output (default: its top-class probability)")
    .option(
      '--within-points <points>',
      'the smallest cloud share within this many accuracy points of the cloud model alone',
      tolerance,
    )
    .option('--cloud-share <share>', 'or: the largest cloud share not over this (0–1)', tolerance)
    .option('--json', 'machine-readable output')
    .action(
      async (
        edge: string,
        cloud: string,
        evaluation: string,
        options: { confidenceOutput?: string; withinPoints?: number; cloudShare?: number; json?: boolean },
      ) => {
        if (options.withinPoints !== undefined && options.cloudShare !== undefined)
          throw new UsageError('--within-points and --cloud-share: give one rule, not both');
        if (options.cloudShare !== undefined && options.cloudShare > 1)
          throw new UsageError(`--cloud-share: expected a share from 0 to 1, found ${options.cloudShare}`);
        const [{ evaluatePair }, joint] = await Promise.all([
          import('../../adapters/onnx/joint-eval.ts'),
          import('../../core/joint.ts'),
        ]);
        const text = await readFile(evaluation, 'utf8').catch((error: Error) => {
          throw new UsageError(`${evaluation}: cannot read the evaluation set (${error.message})`);
        });
        const set = parseJsonWith(
          joint.evaluationSetSchema,
          text,
          (issues) => new UsageError(`${evaluation}: ${issues.join('; ')}`),
          'evaluation set {"samples": [{"inputs": {...}, "label": 0}]}',
        );
        const samples = await evaluatePair(edge, cloud, set, options.confidenceOutput);
        const curve = joint.cascadeCurve(samples);
        const rule =
          options.cloudShare !== undefined
            ? { cloudShare: options.cloudShare }
            : { withinPoints: options.withinPoints ?? 0.5 };
        const chosen = joint.chooseThreshold(curve, rule);
        emit(Boolean(options.json), { curve, chosen, rule }, () => joint.renderJointCurve(curve, chosen));
      },
    );
}

async function contractOf(path: string): Promise<ModelContract> {
  if (path.endsWith('.onnx')) return (await (await inspector()).inspect(path)).contract;
  return parseJsonWith(
    modelContractSchema,
    await readFile(path, 'utf8'),
    (issues) => new UsageError(`${path}: ${issues.join('; ')}`),
    'model contract (or pass the .onnx model)',
  );
}
