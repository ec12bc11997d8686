import type { EdgeshipConfig } from '../core/config.ts';
import type { EvaluationReport, Provenance } from '../core/report-schema.ts';
import { renderReport } from '../core/report.ts';
import {
  SILENT,
  type ArtifactStore,
  type GitOpsRepo,
  type ModelSigner,
  type Progress,
  type TrainingBackend,
} from '../ports.ts';
import { startRollout } from './rollout.ts';
import type { EvaluateDeps } from './evaluate.ts';
import { evaluateCheckout } from './evaluate-checkout.ts';
import { publish } from './publish.ts';

export interface ReleaseDeps extends EvaluateDeps {
  training: TrainingBackend;
  store: ArtifactStore;
  storeFor: (reference: string) => ArtifactStore;
  gitops: GitOpsRepo;
  progress: Progress;
  /** Signs what is published (EDGESHIP_SIGNING_KEY). */
  signer?: ModelSigner;
}

export interface ReleaseInput {
  /** Checkout of the model repo. */
  directory: string;
  config: EdgeshipConfig;
  provenance: Omit<Provenance, 'trainedAt' | 'command'>;
  env?: Record<string, string>;
}

export interface ReleaseOutcome {
  report: EvaluationReport;
  markdown: string;
  /** The GitOps commit; absent when gates failed or nothing changed. */
  commit?: { sha: string; files: string[] };
}

/**
 * The release loop for one model, as the local loop and CI runners run it:
 * 1. train with the configured command;
 * 2. read the deployed release (baseline) from the GitOps repo and its artifact;
 * 3. evaluate against it;
 * 4. stop here when a gate fails: nothing is published or committed;
 * 5. publish the artifact, pinned by digest;
 * 6. commit the release to the GitOps repo: its first wave when the config has waves
 *    (`edgeship rollout` sends the next ones), else every target.
 */
export async function releaseModel(deps: ReleaseDeps, input: ReleaseInput): Promise<ReleaseOutcome> {
  const { config } = input;
  const outputs = await deps.progress.step(`Training ${config.model}`, (note) =>
    deps.training.train(
      {
        directory: input.directory,
        command: config.train.command,
        outputs: config.train.outputs,
        ...(input.env && { env: input.env }),
      },
      note,
    ),
  );
  const provenance: Provenance = {
    ...input.provenance,
    command: config.train.command,
    trainedAt: new Date().toISOString(),
  };
  const report = await evaluateCheckout({ ...deps, baseline: deps }, { config, outputs, provenance });
  if (!report.passed || report.version.bump === 'none') return { report, markdown: renderReport(report) };
  report.artifact = await deps.progress.step(`Publishing ${config.model} ${report.version.version}`, (note) =>
    publish(deps.store, outputs, report, config.artifacts, deps.signer).then((pushed) => {
      note(pushed.reference);
      return pushed;
    }),
  );
  const started = await deps.progress.step(
    config.rollout ? 'Committing the release and its first wave to the GitOps repo' : 'Committing to the GitOps repo',
    () =>
      startRollout({ gitops: deps.gitops, log: SILENT, promoteHint: '`edgeship rollout --promote`' }, config, report),
  );
  return { report, markdown: renderReport(report), ...(started.commit && { commit: started.commit }) };
}
