import { randomUUID } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArtifactError } from '../../core/errors.ts';
import type {
  ArtifactStore,
  AttachedBlob,
  Attachment,
  PulledArtifact,
  PushedArtifact,
  PushRequest,
} from '../../ports.ts';
import { checkExistingTag, materialize, prepareArtifact, safeFileName, verify } from './artifact-io.ts';
import {
  buildReferrer,
  filesOf,
  MANIFEST_MEDIA_TYPE,
  MAX_REFERRERS,
  ociJson,
  parseManifest,
  referrerLayer,
  type ReferrerDescriptor,
  titleOf,
} from './manifest.ts';
import { formatReference, parseReference } from './reference.ts';

interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: ReferrerDescriptor[];
}

const REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * ArtifactStore over OCI image layouts on disk (one layout per model under `root`), the local
 * default. Blobs and index.json are written to a temporary name and renamed, so a reader never
 * sees a half-written file and an interrupted push leaves only unreferenced blobs.
 */
export class LayoutStore implements ArtifactStore {
  constructor(private readonly root: string) {}

  async push(request: PushRequest): Promise<PushedArtifact> {
    const directory = resolve(this.root, request.name);
    const prepared = await prepareArtifact(request);
    const reference = (digest: string) => formatReference({ kind: 'layout', directory, digest });
    if (request.immutable) {
      const digest = (await readIndex(directory)).manifests.find(
        (entry) => entry.annotations?.[REF_NAME] === request.tag,
      )?.digest;
      if (digest) {
        const manifest = parseManifest(await this.readBlob(directory, digest), `${directory} ${request.tag}`);
        const config = ociJson(
          await this.readBlob(directory, manifest.config.digest),
          `config of ${directory} ${request.tag}`,
        );
        if (checkExistingTag(request, prepared, { digest, config }, directory) === 'equivalent')
          return { digest, reference: reference(digest) };
      }
    }
    await mkdir(join(directory, 'blobs', 'sha256'), { recursive: true });
    await atomicWrite(join(directory, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    for (const blob of prepared.blobs) await this.writeBlob(directory, blob.descriptor.digest, blob.bytes);
    await this.writeBlob(directory, prepared.manifest.digest, prepared.manifest.bytes);
    const index = await readIndex(directory);
    index.manifests = index.manifests.filter((entry) => entry.annotations?.[REF_NAME] !== request.tag);
    index.manifests.push({
      mediaType: MANIFEST_MEDIA_TYPE,
      digest: prepared.manifest.digest,
      size: prepared.manifest.bytes.length,
      annotations: { [REF_NAME]: request.tag },
    });
    await atomicWrite(join(directory, 'index.json'), JSON.stringify(index, null, 2));
    return { digest: prepared.manifest.digest, reference: reference(prepared.manifest.digest) };
  }

  async pull(text: string, destination: string): Promise<PulledArtifact> {
    const reference = parseReference(text);
    if (reference.kind !== 'layout') throw new ArtifactError(`${text} is not an oci-layout reference`);
    const directory = resolve(reference.directory);
    const digest = reference.digest ?? (await findTag(directory, reference.tag ?? 'latest'));
    const manifestBytes = await this.readBlob(directory, digest);
    const manifest = parseManifest(manifestBytes, text);
    const config = ociJson(await this.readBlob(directory, manifest.config.digest), `config of ${text}`);
    const files = [];
    for (const layer of manifest.layers) {
      files.push({
        name: safeFileName(titleOf(layer), layer.digest),
        bytes: await this.readBlob(directory, layer.digest),
      });
    }
    return { digest, config, files: await materialize(destination, files) };
  }

  /**
   * A layout has no referrers API: the referrer's manifest is listed in index.json with its
   * artifact type and no tag, as OCI image-layout tools (oras) keep them.
   */
  async attach(text: string, attachment: Attachment): Promise<string> {
    const { directory, digest } = this.pinned(text);
    const subject = await this.readBlob(directory, digest);
    const made = buildReferrer({ mediaType: MANIFEST_MEDIA_TYPE, digest, size: subject.length }, attachment);
    for (const blob of made.blobs) await this.writeBlob(directory, blob.digest, blob.bytes);
    await this.writeBlob(directory, made.descriptor.digest, made.bytes);
    const index = await readIndex(directory);
    if (!index.manifests.some((entry) => entry.digest === made.descriptor.digest)) {
      index.manifests.push(made.descriptor);
      await atomicWrite(join(directory, 'index.json'), JSON.stringify(index, null, 2));
    }
    return made.descriptor.digest;
  }

  async attached(text: string, artifactType: string): Promise<AttachedBlob[]> {
    const { directory, digest } = this.pinned(text);
    const listed = (await readIndex(directory)).manifests.filter((entry) => entry.artifactType === artifactType);
    const blobs: AttachedBlob[] = [];
    for (const entry of listed.slice(0, MAX_REFERRERS)) {
      const where = `referrer ${entry.digest} in ${directory}`;
      const found = referrerLayer(await this.readBlob(directory, entry.digest), digest, artifactType, where);
      if (found)
        blobs.push({ bytes: await this.readBlob(directory, found.layer.digest), annotations: found.annotations });
    }
    return blobs;
  }

  async listFiles(text: string): Promise<{ name: string; sha256: string }[]> {
    const { directory, digest } = this.pinned(text);
    return filesOf(parseManifest(await this.readBlob(directory, digest), text));
  }

  private pinned(text: string): { directory: string; digest: string } {
    const reference = parseReference(text);
    if (reference.kind !== 'layout' || !reference.digest)
      throw new ArtifactError(`${text}: expected an oci-layout reference pinned by digest (@sha256:…)`);
    return { directory: resolve(reference.directory), digest: reference.digest };
  }

  private async writeBlob(directory: string, digest: string, bytes: Buffer): Promise<void> {
    const path = blobPath(directory, digest);
    if (await exists(path)) return; // content-addressed: same digest, same bytes
    await atomicWrite(path, bytes);
  }

  private async readBlob(directory: string, digest: string): Promise<Buffer> {
    const bytes = await readFile(blobPath(directory, digest)).catch((error: Error) => {
      throw new ArtifactError(`blob ${digest} is missing from the OCI layout ${directory}`, { cause: error });
    });
    verify(bytes, digest, `blob ${digest} in ${directory}`);
    return bytes;
  }
}

const blobPath = (directory: string, digest: string) => join(directory, 'blobs', ...digest.split(':'));

async function readIndex(directory: string): Promise<LayoutIndex> {
  const file = join(directory, 'index.json');
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new ArtifactError(`${file} cannot be read: ${error.message}`, { cause: error });
  });
  if (!bytes) return { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  const index = ociJson(bytes, `${file} (an OCI index)`) as Partial<LayoutIndex> | null;
  if (!Array.isArray(index?.manifests))
    throw new ArtifactError(`${file} is not a valid OCI index: it has no manifests list`);
  return index as LayoutIndex;
}

async function findTag(directory: string, tag: string): Promise<string> {
  const index = await readIndex(directory);
  const entry = index.manifests.find((manifest) => manifest.annotations?.[REF_NAME] === tag);
  if (!entry) throw new ArtifactError(`no artifact tagged "${tag}" in the OCI layout ${directory}`);
  return entry.digest;
}

async function atomicWrite(path: string, data: string | Buffer): Promise<void> {
  const temporary = `${path}.${randomUUID()}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, path);
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
