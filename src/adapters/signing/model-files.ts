import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { PREDICATE_ANNOTATION, SIGNATURE_FILE } from '../../core/artifact.ts';
import { OMS_PREDICATE_TYPE, type SignedFile } from '../../core/model-signing.ts';
import type { AttachedBlob } from '../../ports.ts';
import { SignatureError, verifyModel, type VerifiedModel } from './oms-bundle.ts';
import type { SigningTrust } from '../../core/signing-trust.ts';

/** What OMS v1.0 leaves out of a model by default (spec §6.2); the bundle's own file is left out too. */
export const DEFAULT_IGNORED = ['.git', '.gitignore', '.gitattributes', '.github'];

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The model at `path` as OMS v1.0 signs it: a file alone, or every regular file under a
 * directory but the ignored paths, each named by its path from the directory with `/`. A
 * symbolic link is refused (OMS signs with allow_symlinks false, and a link could point anywhere).
 */
export async function modelFiles(
  path: string,
  ignored: readonly string[] = [...DEFAULT_IGNORED, SIGNATURE_FILE],
): Promise<SignedFile[]> {
  const info = await lstat(path);
  if (info.isFile()) return [{ name: basename(path), sha256: await sha256File(path) }];
  const files: SignedFile[] = [];
  const walk = async (directory: string): Promise<void> => {
    for (const entry of await readdir(directory, { withFileTypes: true })) {
      const full = join(directory, entry.name);
      const name = relative(path, full).split(sep).join('/');
      if (ignored.includes(name)) continue;
      if (entry.isSymbolicLink()) throw new SignatureError(`${full}: a symbolic link; sign the file it points to`);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) files.push({ name, sha256: await sha256File(full) });
    }
  };
  await walk(path);
  if (files.length === 0) throw new SignatureError(`${path}: no files to sign or verify`);
  return files;
}

/** A signature bundle's text, and where it came from (for messages). */
export interface FoundBundle {
  text: string;
  where: string;
}

/** The bundle in `file`, or none when there is no such file. */
export async function bundleFile(file: string): Promise<FoundBundle[]> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? [] : [{ text, where: file }];
}

/**
 * The bundles attached to the artifact `reference` that may hold `predicateType` (those that say
 * another are left out), named by their place among them.
 */
export function attachedBundles(
  reference: string,
  attached: readonly AttachedBlob[],
  predicateType = OMS_PREDICATE_TYPE,
): FoundBundle[] {
  const bundles = attached.filter(
    (blob) => (blob.annotations[PREDICATE_ANNOTATION] ?? predicateType) === predicateType,
  );
  const what = predicateType === OMS_PREDICATE_TYPE ? 'signature' : 'attestation';
  return bundles.map((blob, index) => ({
    text: blob.bytes.toString('utf8'),
    where: `${reference}: attached ${what} ${index + 1} of ${bundles.length}`,
  }));
}

/**
 * Verifies the model at `path` (a file, or every file of a directory but `ignored`) against the
 * bundles found for it (a file beside it, or those attached to its artifact), with what the
 * operator trusts (keys, keyless identities): one that verifies is enough. None found is a SignatureError saying `missing`;
 * none verifying names why each failed.
 */
export async function verifyModelAt(
  path: string,
  bundles: readonly FoundBundle[],
  trust: SigningTrust,
  missing: string,
  ignored: string = SIGNATURE_FILE,
): Promise<VerifiedModel & { files: number }> {
  if (bundles.length === 0) throw new SignatureError(missing);
  const files = await modelFiles(path, [...DEFAULT_IGNORED, ignored]);
  const verified = firstVerified(bundles, 'signatures', (bundle) =>
    verifyModel(bundle.text, files, trust, bundle.where),
  );
  return { ...verified, files: files.length };
}

/**
 * The first of `bundles` that `check` accepts; when none does, a SignatureError with the reason
 * of each (one bundle: its reason alone).
 */
export function firstVerified<T>(bundles: readonly FoundBundle[], what: string, check: (bundle: FoundBundle) => T): T {
  const failures: string[] = [];
  for (const bundle of bundles) {
    try {
      return check(bundle);
    } catch (error) {
      if (!(error instanceof SignatureError)) throw error;
      failures.push(error.message);
    }
  }
  throw new SignatureError(
    failures.length === 1
      ? (failures[0] ?? '')
      : `none of ${failures.length} ${what} verifies: ${failures.join(' | ')}`,
  );
}
