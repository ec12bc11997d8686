import { readFile } from 'node:fs/promises';
import { UsageError } from '../../core/errors.ts';
import type { ModelSigner } from '../../ports.ts';
import { signModel } from './oms-bundle.ts';
import { SIGNATURE_FILE } from '../../core/artifact.ts';

/** Signs with the private key in the PEM file at `path` (EDGESHIP_SIGNING_KEY), read when it signs. */
export function keyFileSigner(path: string): ModelSigner {
  return {
    sign: async (name, files) => {
      const key = await readFile(path, 'utf8').catch((error: Error) => {
        throw new UsageError(`EDGESHIP_SIGNING_KEY: cannot read the signing key ${path} (${error.message})`);
      });
      return `${JSON.stringify(await signModel(name, files, key, [SIGNATURE_FILE]), null, 2)}\n`;
    },
  };
}
