import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelValidationError } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';
import type { ProfileResult } from '../../core/profiling.ts';

/**
 * Profile results measured on the devices (one JSON file per profile, from `edgeship profile`
 * or the profile Action step run there); a missing directory means none ran. Placement uses
 * them instead of an emulated estimate.
 */
export async function readMeasured(directory: string): Promise<ProfileResult[]> {
  const files = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const results: ProfileResult[] = [];
  for (const file of files.filter((name) => name.endsWith('.json')).sort()) {
    const result = (parseJson(
      await readFile(join(directory, file), 'utf8'),
      (issues) => new ModelValidationError(`${join(directory, file)}: ${issues.join('; ')}`),
      'profile result',
    ) ?? {}) as Partial<ProfileResult>;
    if (
      typeof result.profile !== 'string' ||
      result.source !== 'device' ||
      typeof result.estimated?.p95Ms !== 'number'
    ) {
      throw new ModelValidationError(
        `${join(directory, file)} is not a profile result measured on a device (from the edgeship profile step)`,
      );
    }
    results.push(result as ProfileResult);
  }
  return results;
}
