import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.ts';
import { inventoryToConfig, parseInventoryFile } from '../../core/inventory.ts';

/** Reads and checks every targets/*.yaml of an inventory. */
export async function readInventory(dir: string) {
  const root = resolve(dir);
  const candidates = [join(root, 'targets'), root];
  for (const candidate of candidates) {
    const names = await readdir(candidate).catch(() => undefined);
    const files = names?.filter((name) => name.endsWith('.yaml') || name.endsWith('.yml')).sort();
    if (!files || files.length === 0 || (candidate === root && names?.includes('targets'))) continue;
    const entries = await Promise.all(
      files.map(async (name) => ({
        file: join(candidate, name),
        target: parseInventoryFile(await readFile(join(candidate, name), 'utf8'), join(candidate, name)),
      })),
    );
    return inventoryToConfig(entries);
  }
  throw new ConfigError(root, ['expected targets/*.yaml (or *.yaml) files, found none'], { what: 'target inventory' });
}
