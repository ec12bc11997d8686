import { readFile } from 'node:fs/promises';
import { UsageError } from '../../core/errors.ts';
import type { ModelSigner } from '../../ports.ts';
import { signModel, signStatement } from './oms-bundle.ts';
import { SIGNATURE_FILE } from '../../core/artifact.ts';

/** Signs with the private key in the PEM file at `path` (EDGESHIP_SIGNING_KEY), read when it signs. */
export function keyFileSigner(path: string): ModelSigner {
  const key = () =>
    readFile(path, 'utf8').catch((error: Error) => {
      throw new UsageError(`EDGESHIP_SIGNING_KEY: cannot read the signing key ${path} (${error.message})`);
    });
  const text = (bundle: object) => `${JSON.stringify(bundle, null, 2)}\n`;
  return {
    sign: async (name, files) => text(await signModel(name, files, await key(), [SIGNATURE_FILE])),
    attest: async (statement) => text(await signStatement(statement, await key())),
  };
}
