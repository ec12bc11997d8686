import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG_PATH, type EdgeshipConfig } from '../../core/config.ts';
import { parseConfig } from '../../core/config-parse.ts';
import { ConfigError } from '../../core/errors.ts';

/** Loads `.github/edgeship.yml` from a model repo checkout. */
export async function loadConfig(repoDirectory: string): Promise<EdgeshipConfig> {
  const file = join(repoDirectory, CONFIG_PATH);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new ConfigError(
      file,
      [error.code === 'ENOENT' ? 'file not found: a model repo needs .github/edgeship.yml' : error.message],
      { cause: error },
    );
  });
  return parseConfig(text, file);
}
