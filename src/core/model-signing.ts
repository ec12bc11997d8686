import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * OpenSSF model signing (OMS) v1.0, ossf/model-signing-spec `spec/v1.0.md`: what is signed is an
 * in-toto Statement v1 whose predicate lists every file of the model with its sha256, in
 * code-point order of the names, and whose one subject is the model's root digest (sha256 over
 * the files' digests, as bytes, in that order). The statement is signed in a DSSE envelope inside
 * a Sigstore bundle (adapters/signing/). Nothing here reads a file or a key.
 */

export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** A file of the model and the sha256 of its bytes (lowercase hex). */
export interface SignedFile {
  name: string;
  sha256: string;
}

const hex = z.string().regex(/^[0-9a-f]+$/, 'expected lowercase hex');

/** The statement as a verifier reads it: anything else about it is refused before a file is compared. */
export const omsStatementSchema = z.object({
  _type: z.literal(IN_TOTO_STATEMENT_TYPE),
  subject: z.array(z.object({ name: z.string().min(1), digest: z.object({ sha256: hex.length(64) }) })).length(1),
  predicateType: z.literal(OMS_PREDICATE_TYPE),
  predicate: z.object({
    resources: z.array(z.object({ name: z.string().min(1), digest: hex, algorithm: z.literal('sha256') })).min(1),
    serialization: z.object({
      method: z.literal('files'),
      hash_type: z.literal('sha256'),
      allow_symlinks: z.boolean(),
      ignore_paths: z.array(z.string().min(1)).optional(),
    }),
  }),
});
export type OmsStatement = z.infer<typeof omsStatementSchema>;

/** Code-point order, as the spec sorts names (not the locale's, not UTF-16 units). */
const byCodePoint = (a: string, b: string) => {
  const left = [...a];
  const right = [...b];
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const difference = (left[index]?.codePointAt(0) ?? 0) - (right[index]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
};

/** sha256 over the files' digests as bytes, in the statement's order: the model's one subject. */
export function rootDigest(files: readonly { digest: string }[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(Buffer.from(file.digest, 'hex'));
  return hash.digest('hex');
}

/**
 * The statement that signs `files` as the model `name`; `ignored` are the paths left out of the
 * signing scope (the bundle itself). Refuses an empty model and a name that is not a canonical
 * relative path.
 */
export function omsStatement(
  name: string,
  files: readonly SignedFile[],
  ignored: readonly string[] = [],
): OmsStatement {
  if (files.length === 0) throw new Error('a model to sign needs at least one file');
  for (const file of files) {
    const canonical = file.name.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
    if (!canonical) throw new Error(`"${file.name}": expected a relative path without ".", ".." or empty parts`);
  }
  const resources = [...files]
    .sort((a, b) => byCodePoint(a.name, b.name))
    .map((file) => ({ name: file.name, digest: file.sha256, algorithm: 'sha256' as const }));
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    subject: [{ name, digest: { sha256: rootDigest(resources) } }],
    predicateType: OMS_PREDICATE_TYPE,
    predicate: {
      resources,
      serialization: {
        method: 'files',
        hash_type: 'sha256',
        allow_symlinks: false,
        ...(ignored.length > 0 && { ignore_paths: [...ignored] }),
      },
    },
  };
}

/**
 * What differs between a signed statement and the files at hand, each a sentence naming the file:
 * a file changed, a signed file missing, a file nobody signed. None means the files are the ones
 * signed. The root digest is checked too, so a statement whose subject does not match its own
 * list is refused.
 */
export function manifestProblems(statement: OmsStatement, files: readonly SignedFile[]): string[] {
  const problems: string[] = [];
  const signed = new Map(statement.predicate.resources.map((resource) => [resource.name, resource.digest]));
  const present = new Map(files.map((file) => [file.name, file.sha256]));
  for (const [name, digest] of signed) {
    const actual = present.get(name);
    if (actual === undefined) problems.push(`"${name}" is signed but missing`);
    else if (actual !== digest) problems.push(`"${name}" changed: sha256 ${actual}, signed ${digest}`);
  }
  for (const name of present.keys()) if (!signed.has(name)) problems.push(`"${name}" is not among the signed files`);
  const subject = statement.subject[0]?.digest.sha256;
  if (subject !== rootDigest(statement.predicate.resources))
    problems.push('the statement’s subject is not the root digest of its own file list');
  return problems;
}
