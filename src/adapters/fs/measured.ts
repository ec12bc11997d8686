import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelValidationError } from '../../core/errors.ts';
import { checkWith, parseJson } from '../../core/parse-json.ts';
import { profileResultSchema, type ProfileResult } from '../../core/profiling.ts';

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
    const path = join(directory, file);
    const fail = (issues: string[]) => new ModelValidationError(`${path}: ${issues.join('; ')}`);
    const data = parseJson(await readFile(path, 'utf8'), fail, 'profile result');
    if ((data as { source?: unknown } | null)?.source !== 'device')
      throw new ModelValidationError(
        `${path} is not a profile result measured on a device (from the edgeship profile step)`,
      );
    const result = checkWith(profileResultSchema, data, fail);
    results.push(result);
  }
  return results;
}
