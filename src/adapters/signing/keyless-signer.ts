import { bundleToJSON } from '@sigstore/bundle';
import {
  CIContextProvider,
  DEFAULT_FULCIO_URL,
  DEFAULT_REKOR_URL,
  DSSEBundleBuilder,
  FulcioSigner,
  RekorWitness,
  type IdentityProvider,
} from '@sigstore/sign';
import { SIGNATURE_FILE } from '../../core/artifact.ts';
import { messageOf, UsageError } from '../../core/errors.ts';
import { IN_TOTO_PAYLOAD_TYPE, omsStatement } from '../../core/model-signing.ts';
import type { ModelSigner } from '../../ports.ts';

export interface KeylessOptions {
  /** Fulcio, which certifies the ephemeral key for the OIDC identity (default: the public-good instance). */
  fulcioUrl?: string;
  /** Rekor, which logs the signature (default: the public-good instance). */
  rekorUrl?: string;
  /** Where the OIDC token comes from; by default the CI's (GitHub Actions with `id-token: write`). */
  identityProvider?: IdentityProvider;
}

/**
 * Signs keyless, as Sigstore does: an ephemeral P-256 key, certified by Fulcio for the OIDC
 * identity of the run (in GitHub Actions, the workflow at its ref), and the signature logged in
 * Rekor; the bundle carries the certificate and the log entry with its inclusion proof. Nothing
 * secret is kept: who signed is what the certificate says (sigstore-trust.ts checks it).
 */
export function keylessSigner(options: KeylessOptions = {}): ModelSigner {
  const sign = async (statement: object) => {
    const builder = new DSSEBundleBuilder({
      signer: new FulcioSigner({
        fulcioBaseURL: options.fulcioUrl ?? DEFAULT_FULCIO_URL,
        identityProvider: options.identityProvider ?? new CIContextProvider('sigstore'),
        retry: 2,
        timeout: 30_000,
      }),
      witnesses: [new RekorWitness({ rekorBaseURL: options.rekorUrl ?? DEFAULT_REKOR_URL, retry: 2, timeout: 30_000 })],
    });
    try {
      const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: IN_TOTO_PAYLOAD_TYPE });
      return `${JSON.stringify(bundleToJSON(bundle), null, 2)}\n`;
    } catch (error) {
      throw new UsageError(`EDGESHIP_KEYLESS_SIGNING: keyless signing failed (${describe(error)})`, { cause: error });
    }
  };
  return {
    sign: (name, files) => sign(omsStatement(name, files, [SIGNATURE_FILE])),
    attest: (statement) => sign(statement),
  };
}

/** sigstore-js wraps the cause (an HTTP status, no OIDC token): say both. */
function describe(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  return cause ? `${messageOf(error)}: ${messageOf(cause)}` : messageOf(error);
}
