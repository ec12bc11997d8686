import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256File } from './file-hash.ts';
import { EdgeshipError, UsageError } from '../core/errors.ts';
import type { EvaluationReport } from '../core/report-schema.ts';
import { parseEvaluationReport } from '../core/report-schema.ts';

/** Reads report.json as `edgeship evaluate` wrote it; errors name the file and the fix. */
export async function readReportFile(path: string): Promise<EvaluationReport> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new EdgeshipError(`${path}: cannot read the report (${error.message}); run evaluate first`);
  });
  return parseEvaluationReport(text, path);
}

/**
 * Reads a report and checks it is the report of the model beside it (`model.onnx` in the same
 * directory, when there is one): a model trained again after its evaluation must be evaluated
 * again, or its gates would show the previous model's verdict.
 */
export async function readCurrentReport(path: string): Promise<EvaluationReport> {
  const report = await readReportFile(path);
  const model = join(dirname(path), 'model.onnx');
  const actual = await sha256File(model).catch(() => undefined);
  if (actual !== undefined) {
    if (actual !== report.candidate.sha256) {
      throw new UsageError(
        `${path} is the report of a model with sha256 ${report.candidate.sha256}, but ${model} has sha256 ${actual} now: it was trained again after this report; run edgeship evaluate`,
      );
    }
  }
  return report;
}

export async function writeReportFile(path: string, report: EvaluationReport): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
