import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import type { ModelContract } from '../core/contract.ts';
import { referenceProblems, referenceStatsSchema, type ReferenceStats } from '../core/drift.ts';
import { ModelValidationError } from '../core/errors.ts';
import { goldenFileSchema, type GoldenFile } from '../core/golden.ts';
import { parseMetrics, type Metrics } from '../core/metrics.ts';
import { parseJsonWith } from '../core/parse-json.ts';

/**
 * The training outputs a release reads besides the model, each checked against its schema: the
 * golden samples and the reference statistics. Errors name the file, the field, what was
 * expected and what was found.
 */

/** A training output as text; a file that cannot be read is named. */
export async function readOutputText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch((error: Error) => {
    throw new ModelValidationError(`${path}: cannot read (${error.message})`, { cause: error });
  });
}

/** A JSON training output held to its schema: `what` it is, and the shape `expected` in its errors. */
async function readOutputJson<T extends z.ZodType>(
  path: string,
  schema: T,
  what: string,
  expected: string,
): Promise<z.output<T>> {
  return parseJsonWith(
    schema,
    await readOutputText(path),
    (issues) => new ModelValidationError(`${path}: ${issues.join('; ')}; expected ${expected}`),
    what,
  );
}

/** metrics.json: finite numbers, the primary metric among them. */
export async function readMetrics(path: string, primary: string): Promise<Metrics> {
  return parseMetrics(await readOutputText(path), primary, path);
}

/** golden.json: inputs and the framework's outputs, sample by sample. */
export function readGolden(path: string): Promise<GoldenFile> {
  return readOutputJson(path, goldenFileSchema, 'golden samples', '{"samples": [{"inputs": {...}, "outputs": {...}}]}');
}

/** reference-stats.json as its schema says: the statistics drift monitoring at the edge compares live inputs with. */
export function readReferenceStatsFile(path: string): Promise<ReferenceStats> {
  return readOutputJson(
    path,
    referenceStatsSchema,
    'reference statistics',
    '{"count": n, "features": [{"name", "input", "index", "edges": [...], "proportions": [...]}]}',
  );
}

/** reference-stats.json, checked against the model too: each feature names an input it has. */
export async function readReferenceStats(
  path: string,
  contract: Pick<ModelContract, 'inputs'>,
): Promise<ReferenceStats> {
  const stats = await readReferenceStatsFile(path);
  const problems = referenceProblems(stats, contract);
  if (problems.length > 0) throw new ModelValidationError(`${path}: ${problems.join('; ')}`);
  return stats;
}
