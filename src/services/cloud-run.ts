import type { EdgeshipConfig } from '../core/config.ts';
import type { EvaluationReport } from '../core/report-schema.ts';
import type {
  ArtifactStore,
  ModelInspector,
  ModelSigner,
  ModelProfiler,
  Progress,
  PushedArtifact,
  TrainingBackend,
} from '../ports.ts';
import { evaluateCheckout } from './evaluate-checkout.ts';
import { publish, publishReport } from './publish.ts';

export interface CloudRunDeps {
  training: TrainingBackend;
  inspector: ModelInspector;
  profiler: ModelProfiler;
  store: ArtifactStore;
  progress: Progress;
  /** Signs what is published (EDGESHIP_SIGNING_KEY). */
  signer?: ModelSigner;
}

export interface CloudRunInput {
  /** Checkout of the model repo at the commit. */
  directory: string;
  config: EdgeshipConfig;
  key: string;
  sha: string;
  branch: string;
  reason: string;
  context?: string;
}

/**
 * What a cluster run does, the same steps as the Actions workflow: train, evaluate (the app
 * compares with the deployed release when it plans the PR), publish the model artifact, and
 * store the report under `report-<run key>` for the app. Gates that fail are the PR's to show,
 * so the artifact is published either way.
 */
export async function cloudRun(
  deps: CloudRunDeps,
  input: CloudRunInput,
): Promise<{ report: EvaluationReport; stored: PushedArtifact }> {
  const { config, directory } = input;
  const env = { EDGESHIP_RUN_KEY: input.key, EDGESHIP_SHA: input.sha, EDGESHIP_REASON: input.reason };
  const outputs = await deps.progress.step(`Training ${config.model} at ${input.sha.slice(0, 7)}`, (note) =>
    deps.training.train({ directory, command: config.train.command, outputs: config.train.outputs, env }, note),
  );
  const provenance = {
    commit: input.sha,
    branch: input.branch,
    command: config.train.command,
    trainedAt: new Date().toISOString(),
    ...(input.context && { trigger: input.context }),
  };
  const report = await evaluateCheckout(deps, { config, outputs, provenance });
  report.artifact = await deps.progress.step(`Publishing ${config.model} ${report.version.version}`, () =>
    publish(deps.store, outputs, report, config.artifacts, deps.signer),
  );
  const stored = await deps.progress.step('Storing the report for the app', () =>
    publishReport(deps.store, report, input.key, outputs.directory),
  );
  return { report, stored };
}
