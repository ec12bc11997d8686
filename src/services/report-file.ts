import { readFile, writeFile } from 'node:fs/promises';
import { EdgeshipError } from '../core/errors.ts';
import type { EvaluationReport } from '../core/release-plan.ts';

/** Reads report.json as `edgeship evaluate` wrote it; errors name the file and the fix. */
export async function readReportFile(path: string): Promise<EvaluationReport> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new EdgeshipError(`${path}: cannot read the report (${error.message}); run evaluate first`);
  });
  let report: Partial<EvaluationReport>;
  try {
    report = JSON.parse(text) as Partial<EvaluationReport>;
  } catch (error) {
    throw new EdgeshipError(`${path}: the report is not JSON`, { cause: error });
  }
  if (report.schemaVersion !== 1 || !report.model || !report.version) throw new EdgeshipError(`${path}: not an edgeship evaluation report`);
  return report as EvaluationReport;
}

export async function writeReportFile(path: string, report: EvaluationReport): Promise<void> {
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}
