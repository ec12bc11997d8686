import { readFile } from 'node:fs/promises';
import type { ModelContract } from '../core/contract.ts';
import { referenceProblems, referenceStatsSchema, type ReferenceStats } from '../core/drift.ts';
import { ModelValidationError } from '../core/errors.ts';

/**
 * Reads reference-stats.json and checks it against the model: the statistics drift monitoring
 * at the edge compares live inputs with. Errors name the file, the field, what was expected and
 * what was found.
 */
export async function readReferenceStats(path: string, contract: Pick<ModelContract, 'inputs'>): Promise<ReferenceStats> {
  const text = await readFile(path, 'utf8').catch((error: Error) => {
    throw new ModelValidationError(`${path}: cannot read (${error.message})`, { cause: error });
  });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ModelValidationError(`${path}: expected JSON reference statistics, found text that does not parse`, { cause: error });
  }
  const parsed = referenceStatsSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelValidationError(`${path}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message}; expected {"count": n, "features": [{"name", "input", "index", "edges": [...], "proportions": [...]}]}`);
  }
  const problems = referenceProblems(parsed.data, contract);
  if (problems.length > 0) throw new ModelValidationError(`${path}: ${problems.join('; ')}`);
  return parsed.data;
}
