import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as core from '@actions/core';
import { REPORT_ARTIFACT } from '../core/training-run.ts';
import { readReportFile, writeReportFile } from '../services/report-file.ts';
import { blame, InputError, input, requiredInput, runStep } from './action-io.ts';
import { runEnvironment } from '../compose/run-settings.ts';

/**
 * The `report` step: checks that report.json is complete (evaluated and published), and stages
 * it with the run key for the upload of the `edgeship-report` artifact the app reads.
 */
await runStep('report', async () => {
  const reportPath = resolve(requiredInput('report'));
  const runKey = input('run-key');
  const report = await blame('report', () => readReportFile(reportPath));
  if (!report.artifact)
    throw new InputError('report', `${reportPath} has no published artifact; run the publish step before report`);
  const staging = join(runEnvironment().RUNNER_TEMP ?? resolve('.'), REPORT_ARTIFACT);
  await mkdir(staging, { recursive: true });
  await writeReportFile(join(staging, 'report.json'), report);
  if (runKey) await writeFile(join(staging, 'run-key'), `${runKey}\n`);
  core.setOutput('directory', staging);
  core.setOutput('artifact', REPORT_ARTIFACT);
  await core.summary
    .addRaw(
      `edgeship report for **${report.model} ${report.version.version}**${runKey ? ` (run key \`${runKey}\`)` : ''} uploaded as \`${REPORT_ARTIFACT}\`\n`,
    )
    .write();
});
