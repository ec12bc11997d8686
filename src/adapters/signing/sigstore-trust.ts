import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type TrustMaterial } from '@sigstore/verify';
import { messageOf, UsageError } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';
import type { TrustedIdentity } from '../../core/signing-trust.ts';

/** Where @sigstore/tuf's seeds keep the public-good instance's metadata. */
const PUBLIC_GOOD_TUF = 'https://tuf-repo-cdn.sigstore.dev';

const roots = new Map<string, TrustMaterial>();

/**
 * The trust material keyless bundles are checked against: the operator's `trusted_root.json`,
 * or the public-good instance's as the @sigstore/tuf release edgeship runs with ships it (the
 * TUF seed: no network, so sites behind NAT verify too). Read once per file.
 */
export function trustMaterial(file?: string): TrustMaterial {
  const found = roots.get(file ?? '');
  if (found) return found;
  const fail = (issues: string[]) =>
    new UsageError(`${file ?? 'the public-good Sigstore trusted root'}: ${issues.join('; ')}`);
  let text: string;
  try {
    text = file ? readFileSync(file, 'utf8') : publicGoodRoot();
  } catch (error) {
    throw fail([`cannot read it (${messageOf(error)})`]);
  }
  let material: TrustMaterial;
  try {
    material = toTrustMaterial(TrustedRoot.fromJSON(parseJson(text, fail, 'Sigstore trusted root')));
  } catch (error) {
    throw error instanceof UsageError ? error : fail([`not a Sigstore trusted root (${messageOf(error)})`]);
  }
  if (material.certificateAuthorities.length === 0 || material.tlogs.length === 0)
    throw fail(['expected at least one certificate authority and one transparency log']);
  roots.set(file ?? '', material);
  return material;
}

function publicGoodRoot(): string {
  const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<
    string,
    { targets?: Record<string, string> }
  >;
  const encoded = seeds[PUBLIC_GOOD_TUF]?.targets?.['trusted_root.json'];
  if (!encoded) throw new Error(`@sigstore/tuf ships no trusted_root.json for ${PUBLIC_GOOD_TUF}`);
  return Buffer.from(encoded, 'base64').toString('utf8');
}

/**
 * Checks a keyless bundle as Sigstore does (the certificate chains to a trusted Fulcio CA, was
 * logged in a trusted CT log, and was valid when a trusted Rekor log integrated the entry; the
 * entry matches the bundle; the signature verifies with the certificate's key), and returns the
 * identity its certificate names. Throws with Sigstore's reason.
 */
export function verifyKeyless(bundle: Bundle, material: TrustMaterial): TrustedIdentity {
  const signer = new Verifier(material).verify(toSignedEntity(bundle));
  const issuer = signer.identity?.extensions?.issuer;
  const subject = signer.identity?.subjectAlternativeName;
  if (!issuer || !subject) throw new Error('the certificate names no OIDC issuer or no subject');
  return { issuer, subject };
}
