import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { readMeasured } from '../adapters/fs/measured.ts';
import { GitRemoteRepo } from '../adapters/git/gitops-repo.ts';
import { artifactStoreForReference, credentialsFromEnv } from '../adapters/oci/index.ts';
import { OnnxInspector } from '../adapters/onnx/inspector.ts';
import { OnnxProfiler } from '../adapters/onnx/profiler.ts';
import { collectOutputs, LocalProcessBackend } from '../adapters/training/local-process.ts';
import { renderReport } from '../core/report.ts';
import { ConsoleProgress } from '../compose/progress.ts';
import { evaluationProvenance } from '../compose/local.ts';
import { openModelRepo } from '../compose/model-repo.ts';
import { evaluateCheckout } from '../services/evaluate-checkout.ts';
import { writeReportFile } from '../services/report-file.ts';
import { blame, booleanInput, input, runStep } from './action-io.ts';
import { childEnvironment, runEnvironment } from '../compose/run-settings.ts';

/**
 * The `evaluate` step: optionally trains, then inspects, golden-checks, profiles and gates the
 * model; writes report.json, sets outputs and writes the job summary. Failing gates do not fail
 * the step: the release PR shows them and its gates check blocks the merge.
 */
await runStep('evaluate', async () => {
  const { directory, config } = await blame('repo', () => openModelRepo(input('repo', '.')));
  const progress = new ConsoleProgress(process.stdout);
  const outputsDirectory = resolve(directory, input('outputs', config.train.outputs));
  if (booleanInput('train', false)) {
    await blame('train', () =>
      progress.step(`Training ${config.model}`, (note) =>
        new LocalProcessBackend(childEnvironment()).train(
          { directory, command: config.train.command, outputs: input('outputs', config.train.outputs) },
          note,
        ),
      ),
    );
  }
  const outputs = await blame('outputs', () => collectOutputs(outputsDirectory));
  const gitops = input('gitops');
  const credentials = credentialsFromEnv(runEnvironment());
  const baseline = gitops && {
    gitops: new GitRemoteRepo({
      remote: gitops,
      branch: config.gitops.branch,
      workdir: join(runEnvironment().RUNNER_TEMP ?? directory, 'edgeship-gitops'),
    }),
    storeFor: (reference: string) => artifactStoreForReference(reference, credentials ? { credentials } : {}),
  };
  const trigger = input('trigger');
  const provenance = await evaluationProvenance(directory, outputsDirectory, config, trigger);
  const measuredDirectory = input('measured');
  const measured = measuredDirectory
    ? await blame('measured', () => readMeasured(resolve(directory, measuredDirectory)))
    : [];
  const report = await blame(baseline ? 'gitops' : 'outputs', () =>
    evaluateCheckout(
      { inspector: new OnnxInspector(), profiler: new OnnxProfiler(), progress, ...(baseline && { baseline }) },
      { config, outputs, provenance, measured },
    ),
  );
  const reportPath = resolve(directory, input('report', join(outputsDirectory, 'report.json')));
  await writeReportFile(reportPath, report);
  core.setOutput('report', reportPath);
  core.setOutput('version', report.version.version);
  core.setOutput('bump', report.version.bump);
  core.setOutput('passed', String(report.passed));
  await core.summary.addRaw(renderReport(report)).write();
  if (!report.passed)
    core.warning(
      `${report.gates
        .filter((gate) => !gate.passed)
        .map((gate) => gate.title)
        .join('; ')}`,
      { title: `edgeship: ${report.model} ${report.version.version} fails its gates` },
    );
});
