import { z } from 'zod';

/**
 * Who may sign the models a site runs or the app releases. A key bundle counts when one of
 * `keys` (public keys, PEM) signed it; a keyless bundle (a Fulcio certificate, logged in Rekor)
 * when Sigstore's checks pass against the trusted root and the certificate names one of
 * `identities`: the OIDC issuer and the subject, each matched exactly. For a GitHub Actions run:
 * issuer `https://token.actions.githubusercontent.com`, subject
 * `https://github.com/<owner>/<repo>/.github/workflows/<file>@refs/heads/<branch>`.
 */
export interface SigningTrust {
  keys: readonly string[];
  identities: readonly TrustedIdentity[];
  /**
   * A Sigstore trusted root (`trusted_root.json`: the Fulcio CAs, Rekor and CT log keys) for
   * keyless bundles; without it, the public-good instance's root that @sigstore/tuf ships.
   */
  trustedRoot?: string;
}

export const trustedIdentitySchema = z.strictObject({
  issuer: z.url({ protocol: /^https$/, error: 'expected the OIDC issuer, an https URL' }),
  subject: z.string().min(1).max(1000),
});
export type TrustedIdentity = z.infer<typeof trustedIdentitySchema>;

/** Whether anything is trusted at all: without, nothing can verify. */
export const trustsAnyone = (trust: SigningTrust) => trust.keys.length > 0 || trust.identities.length > 0;

/** Who signed, as a bundle says it and a check verified it: a key's fingerprint, or a keyless identity. */
export type SignedBy = { keyHint: string } | { identity: TrustedIdentity };

/** One line for people: "key 3f2a…" or "https://github.com/… (issuer https://…)". */
export function describeSigner(signer: SignedBy, short = false): string {
  if ('keyHint' in signer) return `key ${short ? `${signer.keyHint.slice(0, 16)}…` : signer.keyHint}`;
  return `${signer.identity.subject} (issuer ${signer.identity.issuer})`;
}

/**
 * A trusted identity as a flag or variable gives it: `<issuer>=<subject>` (the first `=` after
 * the issuer's URL splits them). `fail` names the flag.
 */
export function parseTrustedIdentity(text: string, fail: (why: string) => Error): TrustedIdentity {
  const split = /^(https:\/\/[^=\s]+)=(.+)$/.exec(text.trim());
  const parsed = split && trustedIdentitySchema.safeParse({ issuer: split[1], subject: split[2] });
  if (!parsed?.success)
    throw fail(
      `expected <OIDC issuer>=<subject>, e.g. https://token.actions.githubusercontent.com=https://github.com/acme/pump-model/.github/workflows/edgeship-train.yml@refs/heads/main, found ${JSON.stringify(text)}`,
    );
  return parsed.data;
}
