import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArtifactError } from '../../core/errors.ts';
import type { PushRequest } from '../../ports.ts';
import { buildManifest, CONFIG_MEDIA_TYPE, describe, sha256, type Descriptor } from './manifest.ts';

export interface PreparedBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

export interface PreparedArtifact {
  blobs: PreparedBlob[];
  manifest: { bytes: Buffer; digest: string };
}

/** Reads the files of a push request and builds the manifest that refers to them. */
export async function prepareArtifact(request: PushRequest): Promise<PreparedArtifact> {
  const configBytes = Buffer.from(JSON.stringify(request.config));
  const config = { descriptor: describe(CONFIG_MEDIA_TYPE, configBytes), bytes: configBytes };
  const layers = await Promise.all(
    request.files.map(async (file) => {
      const bytes = await readFile(file.path).catch((error: Error) => {
        throw new ArtifactError(`cannot read ${file.name} for the artifact from ${file.path}: ${error.message}`, {
          cause: error,
        });
      });
      return { descriptor: describe(file.mediaType, bytes, file.name), bytes };
    }),
  );
  const manifest = buildManifest(
    config.descriptor,
    layers.map((layer) => layer.descriptor),
    request.annotations,
  );
  return { blobs: [config, ...layers], manifest };
}

/**
 * What to do with an immutable tag that exists: nothing, when it holds the prepared artifact or
 * the same model (`identity` in its config); otherwise a refusal naming both digests.
 */
export function checkExistingTag(
  request: PushRequest,
  prepared: PreparedArtifact,
  existing: { digest: string; config: unknown },
  where: string,
): 'same' | 'equivalent' {
  if (existing.digest === prepared.manifest.digest) return 'same';
  const key = request.immutable?.identity ?? '';
  const theirs = (existing.config as Record<string, unknown> | null)?.[key];
  const ours = (request.config as Record<string, unknown>)[key];
  if (theirs !== undefined && theirs === ours) return 'equivalent';
  throw new ArtifactError(
    `${where}: ${request.name}:${request.tag} is already published as ${existing.digest} with another model (${key} ${String(theirs)}, this one ${String(ours)}); ` +
      'a version tag never moves: release this model under a new version, or delete the tag if that version was never deployed',
  );
}

/** Throws unless `bytes` hash to `digest`. */
export function verify(bytes: Uint8Array, digest: string, what: string): void {
  const actual = sha256(bytes);
  if (actual !== digest)
    throw new ArtifactError(
      `${what}: digest mismatch, expected ${digest}, got ${actual}; the artifact is corrupt or was tampered with`,
    );
}

/** A file name from an artifact, refused if it could escape the pull directory. */
export function safeFileName(title: string | undefined, digest: string): string {
  const name = title ?? digest.replace(':', '-');
  if (name !== basename(name) || name === '..' || name === '.')
    throw new ArtifactError(`artifact layer title "${name}" is not a plain file name`);
  return name;
}

/**
 * Writes verified files into `directory`: first all into a temporary sibling, then each renamed
 * into place, so a failure part-way leaves the directory as it was.
 */
export async function materialize(
  directory: string,
  files: { name: string; bytes: Uint8Array }[],
): Promise<Record<string, string>> {
  await mkdir(dirname(directory), { recursive: true });
  const staging = await mkdtemp(join(dirname(directory), `.${basename(directory)}.pull-`));
  try {
    for (const file of files) await writeFile(join(staging, file.name), file.bytes);
    await mkdir(directory, { recursive: true });
    const paths: Record<string, string> = {};
    for (const file of files) {
      const target = join(directory, file.name);
      await rename(join(staging, file.name), target);
      paths[file.name] = target;
    }
    return paths;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
