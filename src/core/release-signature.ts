import { z } from 'zod';
import { commitSha } from './formats.ts';
import type { GateResult } from './gates.ts';
import { codeSpan, inert } from './markdown.ts';
import { describeSigner, trustedIdentitySchema, type SignedBy, type SigningTrust } from './signing-trust.ts';

/**
 * Who signed a release's artifact, as the app verified it before the release PR: the trusted key
 * (its fingerprint) or keyless identity, and the commit and run the signed build provenance names.
 */
export const releaseSignatureSchema = z
  .strictObject({
    keyHint: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'expected a key fingerprint (64 lowercase hex digits)')
      .optional(),
    identity: trustedIdentitySchema.optional(),
    commit: commitSha.optional(),
    runUrl: z.string().max(500).optional(),
  })
  .refine((signature) => (signature.keyHint === undefined) !== (signature.identity === undefined), {
    error: 'expected keyHint (a key signed it) or identity (signed keyless), one of them',
  });
export type ReleaseSignature = z.infer<typeof releaseSignatureSchema>;

/** Who signed, from the record. */
export const signedByOf = (signature: ReleaseSignature): SignedBy =>
  signature.identity ? { identity: signature.identity } : { keyHint: signature.keyHint ?? '' };

/** "key 3f2a…" or the identity, made inert: it is shown on GitHub as markdown. */
export const signerText = (signature: ReleaseSignature, short = true) =>
  inert(describeSigner(signedByOf(signature), short), 1200);

/** The signer for markdown: "key `3f2a…`" (a short fingerprint: its first 16 digits), or the subject as code and its issuer. */
export const signerMarkdown = (signature: ReleaseSignature, short: boolean) =>
  signature.identity
    ? `${codeSpan(signature.identity.subject, 1000)} (issuer ${inert(signature.identity.issuer, 200)})`
    : `key \`${short ? (signature.keyHint ?? '').slice(0, 16) : (signature.keyHint ?? '')}\``;

/** What checking an artifact's signatures found: who signed it, or why it may not be released. */
export type SignatureCheck = { verified: true; signature: ReleaseSignature } | { verified: false; reason: string };

/** Checks who signed an artifact, and that its provenance names `commit` (adapters/signing/release-check.ts). */
export type SignatureChecker = (
  artifact: { reference: string; digest: string },
  commit: string | undefined,
  trust: SigningTrust,
) => Promise<SignatureCheck>;

export const SIGNATURE_GATE = 'signature';

/**
 * The signature gate of a release whose repo the operator policy requires to be signed. The
 * reason of a refusal quotes the bundle (a key hint, statement fields) made inert: it is shown
 * on GitHub as markdown.
 */
export function signatureGate(check: SignatureCheck): GateResult {
  return {
    id: SIGNATURE_GATE,
    title: 'Signed by a trusted signer',
    passed: check.verified,
    reason: check.verified
      ? `signed by ${signerText(check.signature)} (operator policy)${check.signature.commit ? `, built from ${check.signature.commit.slice(0, 7)}` : ''}`
      : inert(check.reason, 1000),
  };
}
