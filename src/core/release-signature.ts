import { z } from 'zod';
import { commitSha } from './formats.ts';
import type { GateResult } from './gates.ts';
import { inert } from './markdown.ts';

/**
 * Who signed a release's artifact, as the app verified it before the release PR: the trusted key
 * (its fingerprint), and the commit and run the signed build provenance names.
 */
export const releaseSignatureSchema = z.strictObject({
  keyHint: z.string().regex(/^[0-9a-f]{64}$/, 'expected a key fingerprint (64 lowercase hex digits)'),
  commit: commitSha.optional(),
  runUrl: z.string().max(500).optional(),
});
export type ReleaseSignature = z.infer<typeof releaseSignatureSchema>;

/** What checking an artifact's signatures found: who signed it, or why it may not be released. */
export type SignatureCheck = { verified: true; signature: ReleaseSignature } | { verified: false; reason: string };

export const SIGNATURE_GATE = 'signature';

/**
 * The signature gate of a release whose repo the operator policy requires to be signed. The
 * reason of a refusal quotes the bundle (a key hint, statement fields) made inert: it is shown
 * on GitHub as markdown.
 */
export function signatureGate(check: SignatureCheck): GateResult {
  return {
    id: SIGNATURE_GATE,
    title: 'Signed by a trusted key',
    passed: check.verified,
    reason: check.verified
      ? `signed by key ${check.signature.keyHint.slice(0, 16)}… (operator policy)${check.signature.commit ? `, built from ${check.signature.commit.slice(0, 7)}` : ''}`
      : inert(check.reason, 1000),
  };
}
