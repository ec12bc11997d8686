import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { REPORT_ARTIFACT } from '../core/release-branch.ts';
import type { EvaluationReport } from '../core/release-plan.ts';
import { InputError, input, requiredInput, runStep } from './action-io.ts';

/**
 * The `report` step: checks that report.json is complete (evaluated and published), and stages
 * it with the run key for the upload of the `edgeship-report` artifact the app reads.
 */
await runStep('report', async () => {
  const reportPath = resolve(requiredInput('report'));
  const runKey = input('run-key');
  const text = await readFile(reportPath, 'utf8').catch((error: Error) => {
    throw new InputError('report', `cannot read ${reportPath} (${error.message}); run the evaluate and publish steps first`);
  });
  const report = JSON.parse(text) as Partial<EvaluationReport>;
  if (report.schemaVersion !== 1 || !report.model) throw new InputError('report', `${reportPath} is not an edgeship evaluation report`);
  if (!report.artifact) throw new InputError('report', `${reportPath} has no published artifact; run the publish step before report`);
  const staging = join(process.env.RUNNER_TEMP ?? resolve('.'), REPORT_ARTIFACT);
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, 'report.json'), text);
  if (runKey) await writeFile(join(staging, 'run-key'), `${runKey}\n`);
  core.setOutput('directory', staging);
  core.setOutput('artifact', REPORT_ARTIFACT);
  await core.summary.addRaw(`edgeship report for **${report.model} ${report.version?.version}**${runKey ? ` (run key \`${runKey}\`)` : ''} uploaded as \`${REPORT_ARTIFACT}\`\n`).write();
});
