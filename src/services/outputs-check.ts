import type { EdgeshipConfig } from '../core/config.ts';
import { ModelValidationError } from '../core/errors.ts';
import type { ModelInspector, TrainingOutputs } from '../ports.ts';
import { readGolden, readMetrics, readReferenceStats } from './output-files.ts';

/**
 * The four training outputs checked as a release reads them, before any release: the model
 * loads, metrics.json has the primary metric, the golden samples give every model input and only
 * model outputs, the reference statistics fit the model. An error names the file and the field.
 */
export async function checkTrainingOutputs(
  inspector: ModelInspector,
  outputs: TrainingOutputs,
  config: Pick<EdgeshipConfig, 'metrics'>,
) {
  const inspection = await inspector.inspect(outputs.model);
  const metrics = await readMetrics(outputs.metrics, config.metrics.primary);
  const golden = await readGolden(outputs.golden);
  const missing = golden.samples.flatMap((sample, index) => [
    ...inspection.contract.inputs
      .filter((spec) => !(spec.name in sample.inputs))
      .map((spec) => `samples[${index}].inputs: expected "${spec.name}", an input of the model`),
    ...Object.keys(sample.outputs)
      .filter((name) => !inspection.contract.outputs.some((spec) => spec.name === name))
      .map((name) => `samples[${index}].outputs.${name}: the model has no such output`),
  ]);
  if (missing.length > 0) throw new ModelValidationError(`${outputs.golden}: ${missing.join('; ')}`);
  const stats = await readReferenceStats(outputs.reference, inspection.contract);
  return { contract: inspection.contract, metrics, samples: golden.samples.length, stats };
}
