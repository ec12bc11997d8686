import { resolve } from 'node:path';
import { keyFileSigner } from '../adapters/signing/key-signer.ts';
import { keylessSigner } from '../adapters/signing/keyless-signer.ts';
import { UsageError } from '../core/errors.ts';
import type { ModelSigner } from '../ports.ts';
import type { RunEnvironment } from './run-settings.ts';

/**
 * How `publish`, `release`, `cloud-run` and the publish step sign, from the environment: with
 * the operator's key (EDGESHIP_SIGNING_KEY), keyless through Fulcio and Rekor
 * (EDGESHIP_KEYLESS_SIGNING=true, in GitHub Actions with `id-token: write`), or not at all.
 */
export function signerFromEnvironment(env: RunEnvironment): ModelSigner | undefined {
  // A workflow passes an unset repository variable as an empty string.
  const keyless = env.EDGESHIP_KEYLESS_SIGNING || undefined;
  if (keyless !== undefined && keyless !== 'true' && keyless !== 'false')
    throw new UsageError(`EDGESHIP_KEYLESS_SIGNING: expected true or false, found ${JSON.stringify(keyless)}`);
  if (env.EDGESHIP_SIGNING_KEY && keyless === 'true')
    throw new UsageError(
      'EDGESHIP_SIGNING_KEY and EDGESHIP_KEYLESS_SIGNING=true: expected one way to sign, found both',
    );
  if (env.EDGESHIP_SIGNING_KEY) return keyFileSigner(resolve(env.EDGESHIP_SIGNING_KEY));
  if (keyless !== 'true') return undefined;
  for (const [name, value] of [
    ['EDGESHIP_FULCIO_URL', env.EDGESHIP_FULCIO_URL],
    ['EDGESHIP_REKOR_URL', env.EDGESHIP_REKOR_URL],
  ] as const)
    if (value && !/^https?:\/\/[^\s/]+/.test(value))
      throw new UsageError(`${name}: expected an http(s) URL, found ${JSON.stringify(value)}`);
  return keylessSigner({
    ...(env.EDGESHIP_FULCIO_URL && { fulcioUrl: env.EDGESHIP_FULCIO_URL }),
    ...(env.EDGESHIP_REKOR_URL && { rekorUrl: env.EDGESHIP_REKOR_URL }),
  });
}
