import { resolve } from 'node:path';
import { loadConfig } from '../adapters/fs/config-file.ts';
import type { EdgeshipConfig } from '../core/config.ts';

export interface ModelRepo {
  directory: string;
  config: EdgeshipConfig;
}

export async function openModelRepo(directory: string): Promise<ModelRepo> {
  const absolute = resolve(directory);
  return { directory: absolute, config: await loadConfig(absolute) };
}
