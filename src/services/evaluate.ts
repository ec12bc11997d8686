import { profilingNeeds, type EdgeshipConfig } from '../core/config.ts';
import { ModelValidationError } from '../core/errors.ts';
import { compareGolden, type GoldenResult } from '../core/golden.ts';
import { resolveProfile } from '../core/profiles.ts';
import type { ProfileResult } from '../core/profiling.ts';
import { readGolden, readMetrics, readReferenceStats } from './output-files.ts';
import { planRelease } from '../core/release-plan.ts';
import type { Baseline, EvaluationReport, Provenance } from '../core/report-schema.ts';
import type { ClusterCapacity, ModelInspector, ModelProfiler, Progress, TrainingOutputs } from '../ports.ts';

export interface EvaluateDeps {
  inspector: ModelInspector;
  profiler: ModelProfiler;
  progress: Progress;
  /** Live capacity of the edge clusters, where targets name a kubeconfig context. */
  capacity?: ClusterCapacity;
}

export interface EvaluateInput {
  config: EdgeshipConfig;
  outputs: TrainingOutputs;
  baseline?: Baseline;
  provenance: Provenance;
  /** Results measured on the devices themselves; these profiles are not emulated. */
  measured?: ProfileResult[];
}

/**
 * Evaluates what training wrote:
 * 1. metrics.json, with the primary metric;
 * 2. the ONNX contract;
 * 3. golden-sample parity with the framework's outputs;
 * 4. latency and memory for each hardware profile a target uses: measured on the device when
 *    a result from there is given, else emulated on this host;
 * 5. the release plan: contract diff, placement, gates and version.
 */
export async function evaluate(deps: EvaluateDeps, input: EvaluateInput): Promise<EvaluationReport> {
  const { config, outputs } = input;
  const metrics = await readMetrics(outputs.metrics, config.metrics.primary);
  const inspection = await deps.progress.step('Inspecting the ONNX contract', () =>
    deps.inspector.inspect(outputs.model),
  );
  // Drift monitoring at the edge reads these: a mistake here must stop the release, not the server.
  await readReferenceStats(outputs.reference, inspection.contract);
  const golden = await deps.progress.step('Checking golden samples', () =>
    checkGolden(deps.inspector, outputs.model, outputs.golden, config.gates.golden),
  );
  const profiles: ProfileResult[] = [];
  for (const { profile: name, batch } of profilingNeeds(config)) {
    const onDevice = input.measured?.find((result) => result.profile === name && result.batch === batch);
    const elsewhere = input.measured?.find((result) => result.profile === name);
    if (!onDevice && elsewhere) {
      throw new ModelValidationError(
        `measured results: ${name} was measured on the device at batch ${elsewhere.batch}, but a target needs it at batch ${batch} (targets[].batch or profiling.batch); measure again with edgeship profile --on-device --batch ${batch}`,
      );
    }
    if (onDevice) {
      profiles.push(
        await deps.progress.step(`Measured on the device: ${name} at batch ${batch}`, async (note) => {
          note(
            `p50 ${onDevice.estimated.p50Ms.toFixed(2)} ms · p95 ${onDevice.estimated.p95Ms.toFixed(2)} ms · peak ${onDevice.peakMemoryMb.toFixed(1)} MiB`,
          );
          return onDevice;
        }),
      );
      continue;
    }
    const profile = resolveProfile(name, config.profiles);
    profiles.push(
      await deps.progress.step(
        `Profiling on ${name} at batch ${batch} (${profile.threads} threads, ${config.profiling.runs} runs)`,
        async (note) => {
          const result = await deps.profiler.profile(outputs.model, name, profile, { ...config.profiling, batch });
          note(
            `p50 ${result.estimated.p50Ms.toFixed(2)} ms · p95 ${result.estimated.p95Ms.toFixed(2)} ms · peak ${result.peakMemoryMb.toFixed(1)} MiB`,
          );
          return result;
        },
      ),
    );
  }
  const live = deps.capacity
    ? await deps.progress.step('Reading edge cluster capacity', () =>
        (deps.capacity as ClusterCapacity).capacity(config.targets),
      )
    : undefined;
  return planRelease({
    config,
    inspection,
    metrics,
    golden,
    profiles,
    provenance: input.provenance,
    ...(input.baseline && { baseline: input.baseline }),
    ...(live && { live }),
  });
}

/** Runs the model on the golden inputs and compares with the framework's outputs. */
export async function checkGolden(
  inspector: ModelInspector,
  model: string,
  goldenPath: string,
  tolerance: { atol: number; rtol: number },
): Promise<GoldenResult> {
  const file = await readGolden(goldenPath);
  return compareGolden(file, await inspector.run(model, file.samples), tolerance);
}
