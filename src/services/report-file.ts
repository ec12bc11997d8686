import { readFile, writeFile } from 'node:fs/promises';
import { EdgeshipError } from '../core/errors.ts';
import type { EvaluationReport } from '../core/release-plan.ts';
import { parseEvaluationReport } from '../core/report-schema.ts';

/** Reads report.json as `edgeship evaluate` wrote it; errors name the file and the fix. */
export async function readReportFile(path: string): Promise<EvaluationReport> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new EdgeshipError(`${path}: cannot read the report (${error.message}); run evaluate first`);
  });
  return parseEvaluationReport(text, path);
}

export async function writeReportFile(path: string, report: EvaluationReport): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
