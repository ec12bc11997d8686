import type { EdgeshipConfig } from '../core/config.ts';
import type { ProfileResult } from '../core/profiling.ts';
import type { EvaluationReport, Provenance } from '../core/report-schema.ts';
import type { TrainingOutputs } from '../ports.ts';
import { resolveBaseline, type BaselineDeps } from './baseline.ts';
import { evaluate, type EvaluateDeps } from './evaluate.ts';

export interface CheckoutEvaluation {
  config: EdgeshipConfig;
  outputs: TrainingOutputs;
  provenance: Provenance;
  measured?: ProfileResult[];
}

/**
 * Evaluates a trained checkout as the CLI and the Actions step do: against the deployed
 * release when a GitOps repo is given, on its own otherwise.
 */
export async function evaluateCheckout(
  deps: EvaluateDeps & { baseline?: BaselineDeps },
  input: CheckoutEvaluation,
): Promise<EvaluationReport> {
  const { baseline: baselineDeps } = deps;
  const baseline = baselineDeps
    ? await deps.progress.step('Reading the deployed release', () => resolveBaseline(baselineDeps, input.config))
    : undefined;
  return evaluate(deps, { ...input, ...(baseline && { baseline }) });
}
