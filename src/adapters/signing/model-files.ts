import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { SIGNATURE_FILE } from '../../core/artifact.ts';
import type { SignedFile } from '../../core/model-signing.ts';
import { SignatureError, verifyModel, type VerifiedModel } from './oms-bundle.ts';

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

/**
 * Verifies the model at `path` (a file, or every file of a directory) against the bundle in
 * `signature`, with the trusted public keys. No bundle there is a SignatureError saying
 * `missing`; anything else verifyModel refuses names `where`.
 */
export async function verifyModelAt(
  path: string,
  signature: string | undefined,
  trustedKeys: readonly string[],
  messages: { where: string; missing: string },
): Promise<VerifiedModel & { files: number }> {
  const bundle = signature === undefined ? undefined : await readFile(signature, 'utf8').catch(() => undefined);
  if (bundle === undefined) throw new SignatureError(messages.missing);
  const files = await modelFiles(path, [...DEFAULT_IGNORED, signature ? basename(signature) : SIGNATURE_FILE]);
  return { ...verifyModel(bundle, files, trustedKeys, messages.where), files: files.length };
}
