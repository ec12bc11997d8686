import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { dsse } from '@sigstore/core';
import { DSSEBundleBuilder, type Signer } from '@sigstore/sign';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import {
  IN_TOTO_PAYLOAD_TYPE,
  manifestProblems,
  omsStatement,
  omsStatementSchema,
  type OmsStatement,
  type SignedFile,
} from '../../core/model-signing.ts';
import { checkWith, parseJson } from '../../core/parse-json.ts';
import { describeSigner, trustsAnyone, type SignedBy, type SigningTrust } from '../../core/signing-trust.ts';
import { trustMaterial, verifyKeyless } from './sigstore-trust.ts';

/**
 * OMS v1.0 bundles (core/model-signing.ts) signed with an operator's key and verified against
 * the keys an operator trusts: a Sigstore bundle v0.3 (built and read by sigstore-js) holding a
 * DSSE envelope of the statement, `verificationMaterial.publicKey.hint` the key's fingerprint
 * (sha256 of its SubjectPublicKeyInfo, hex). Key signing involves no Sigstore service: no
 * transparency log, no timestamp. The envelope's signature is checked here, with the hash the
 * Sigstore algorithm registry gives each curve (SHA-384 for P-384, SHA-512 for P-521):
 * sigstore-js's verifier hashes every ECDSA key with SHA-256, so it refuses P-384 keys OMS
 * requires. A keyless bundle (a Fulcio certificate, a Rekor entry: keyless-signer.ts) is checked
 * by sigstore-js's verifier against the trusted root, and counts when its certificate names a
 * trusted identity (sigstore-trust.ts).
 */

/** A model that may not run: its signature is missing, invalid, by a key nobody trusts, or not of these files. */
export class SignatureError extends EdgeshipError {
  override readonly name = 'SignatureError';
}

/** The fingerprint a bundle names its key by: sha256 of the key's SubjectPublicKeyInfo, hex. */
export const keyHint = (key: KeyObject) =>
  createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex');

const CURVE_HASH: Readonly<Record<string, string>> = { prime256v1: 'sha256', secp384r1: 'sha384', secp521r1: 'sha512' };

/** The hash a key signs with: its curve's for ECDSA (P-256, P-384, P-521), none for Ed25519 (which signs the message). */
function hashOf(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519') return null;
  const hash = key.asymmetricKeyType === 'ec' ? CURVE_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (!hash)
    throw new SignatureError(
      `a ${key.asymmetricKeyType ?? 'unknown'} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: expected EC P-256, P-384 or P-521, or Ed25519`,
    );
  return hash;
}

/** A signer for sigstore-js from a private key in PEM. */
function keySigner(privateKeyPem: string): Signer {
  const privateKey = createPrivateKey(privateKeyPem);
  const publicKey = createPublicKey(privateKey);
  const hash = hashOf(privateKey);
  const hint = keyHint(publicKey);
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    sign: async (data) => ({
      signature: sign(hash, data, privateKey),
      key: { $case: 'publicKey', publicKey: publicPem, hint },
    }),
  };
}

/** Signs `files` as the model `name` with the operator's private key; the bundle as JSON (its file's contents). */
export async function signModel(
  name: string,
  files: readonly SignedFile[],
  privateKeyPem: string,
  ignored: readonly string[] = [],
): Promise<SerializedBundle> {
  return signStatement(omsStatement(name, files, ignored), privateKeyPem);
}

/** Signs an in-toto statement (a model's files, a build's provenance) with the operator's private key. */
export async function signStatement(statement: object, privateKeyPem: string): Promise<SerializedBundle> {
  const builder = new DSSEBundleBuilder({ signer: keySigner(privateKeyPem), witnesses: [] });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(statement)), type: IN_TOTO_PAYLOAD_TYPE });
  const json = bundleToJSON(bundle);
  // A key bundle carries no log entries: said as an empty list, as the spec's key vectors do.
  return { ...json, verificationMaterial: { ...json.verificationMaterial, tlogEntries: [] } };
}

/** Who signed a model that verified, and what. */
export interface VerifiedModel {
  /** The trusted key's fingerprint, or the trusted identity of a keyless signature. */
  signer: SignedBy;
  statement: OmsStatement;
}

/**
 * Opens a bundle (its file's text) with what the operator trusts: a DSSE envelope of an in-toto
 * statement, signed by a trusted key, or keyless by a trusted identity. The payload is returned
 * as JSON for the caller's schema; anything else is a SignatureError naming `where` and what failed.
 */
export function openBundle(
  bundleText: string,
  trust: SigningTrust,
  where: string,
): { signer: SignedBy; payload: unknown; fail: (issues: string[]) => SignatureError } {
  const fail = (issues: string[]) => new SignatureError(`${where}: ${issues.join('; ')}`);
  if (!trustsAnyone(trust)) throw fail(['no trusted key or identity to verify it with']);
  let bundle;
  try {
    bundle = bundleFromJSON(parseJson(bundleText, fail, 'Sigstore bundle'));
  } catch (error) {
    throw error instanceof SignatureError ? error : fail([`not a Sigstore bundle (${messageOf(error)})`]);
  }
  if (bundle.content.$case !== 'dsseEnvelope') throw fail(['expected a DSSE envelope, found a message signature']);
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    throw fail([`expected payload type ${IN_TOTO_PAYLOAD_TYPE}, found ${JSON.stringify(envelope.payloadType)}`]);
  const material = bundle.verificationMaterial.content;
  let signer: SignedBy;
  if (material.$case === 'publicKey') {
    const hint = material.publicKey.hint;
    const trusted = new Map(trust.keys.map((pem) => createPublicKey(pem)).map((key) => [keyHint(key), key]));
    const key = trusted.get(hint);
    if (!key) throw fail([`signed by key ${hint}, which is not among the ${trusted.size} trusted`]);
    // DSSE signs the pre-authentication encoding of the payload and its type; one signature by the key is enough.
    const signed = dsse.preAuthEncoding(envelope.payloadType, envelope.payload);
    const hash = hashOf(key);
    if (!envelope.signatures.some((signature) => verify(hash, signed, key, signature.sig)))
      throw fail([`the signature does not verify with key ${hint}`]);
    signer = { keyHint: hint };
  } else {
    if (trust.identities.length === 0)
      throw fail([`signed keyless (a ${material.$case}), and no signing identity is trusted here`]);
    let identity;
    try {
      identity = verifyKeyless(bundle, trustMaterial(trust.trustedRoot));
    } catch (error) {
      if (!(error instanceof Error) || error.name === 'UsageError') throw error;
      throw fail([`Sigstore refuses the keyless signature (${messageOf(error)})`]);
    }
    const { issuer, subject } = identity;
    if (!trust.identities.some((trusted) => trusted.issuer === issuer && trusted.subject === subject))
      throw fail([
        `signed by ${describeSigner({ identity })}, which is not among the ${trust.identities.length} trusted identities`,
      ]);
    signer = { identity };
  }
  const payload = parseJson(Buffer.from(envelope.payload).toString('utf8'), fail, 'in-toto statement');
  return { signer, payload, fail };
}

/**
 * Verifies a bundle (its file's text) for `files` against what the operator trusts: the
 * signature by a trusted key or identity, the statement an OMS v1.0 statement, and every file as
 * signed, no more and no fewer. Anything else is a SignatureError saying what failed.
 */
export function verifyModel(
  bundleText: string,
  files: readonly SignedFile[],
  trust: SigningTrust,
  where = 'the model signature',
): VerifiedModel {
  const { signer, payload, fail } = openBundle(bundleText, trust, where);
  const statement = checkWith(omsStatementSchema, payload, (issues) =>
    fail(issues.map((issue) => `statement ${issue}`)),
  );
  const problems = manifestProblems(statement, files);
  if (problems.length > 0) throw fail(problems);
  return { signer, statement };
}
