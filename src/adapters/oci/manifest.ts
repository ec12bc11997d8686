import { createHash } from 'node:crypto';
import { ArtifactError } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';
import type { Attachment } from '../../ports.ts';

export { MEDIA_TYPES } from '../../core/artifact.ts';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const ARTIFACT_TYPE = 'application/vnd.edgeship.model.v1';
export const CONFIG_MEDIA_TYPE = 'application/vnd.edgeship.model.config.v1+json';
const TITLE = 'org.opencontainers.image.title';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: typeof MANIFEST_MEDIA_TYPE;
  artifactType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export function describe(mediaType: string, bytes: Uint8Array, title?: string): Descriptor {
  return { mediaType, digest: sha256(bytes), size: bytes.length, ...(title && { annotations: { [TITLE]: title } }) };
}

/** The manifest's bytes and digest; layers carry their file name as the ORAS title annotation. */
export function buildManifest(
  config: Descriptor,
  layers: Descriptor[],
  annotations?: Record<string, string>,
): { bytes: Buffer; digest: string } {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: ARTIFACT_TYPE,
    config,
    layers,
    ...(annotations && { annotations }),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return { bytes, digest: sha256(bytes) };
}

/** JSON an OCI store gave (a manifest, an index, a config); `what` names it in the error. */
export const ociJson = (bytes: Uint8Array, what: string): unknown =>
  parseJson(Buffer.from(bytes).toString('utf8'), (issues) => new ArtifactError(`${what}: ${issues.join('; ')}`));

/** Parses manifest bytes already verified against their digest. */
export function parseManifest(bytes: Uint8Array, where: string): ImageManifest {
  const manifest = (ociJson(bytes, where) ?? {}) as Partial<ImageManifest>;
  if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new Error(`${where}: not an OCI image manifest`);
  }
  return manifest as ImageManifest;
}

export const titleOf = (descriptor: Descriptor) => descriptor.annotations?.[TITLE];

export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
/** The OCI 1.1 empty config (`{}`), for artifacts that need none. */
export const EMPTY_CONFIG = { mediaType: 'application/vnd.oci.empty.v1+json', bytes: Buffer.from('{}') } as const;

/** A descriptor in a referrers index: which artifact refers, and of what type. */
export interface ReferrerDescriptor extends Descriptor {
  artifactType?: string;
}

/**
 * The manifest that attaches `referrer` to `subject`: the empty config, one layer, the subject's
 * descriptor. Its descriptor carries the artifact type, for a referrers index to list it.
 */
export function buildReferrer(
  subject: Descriptor,
  referrer: Attachment,
): { bytes: Buffer; descriptor: ReferrerDescriptor; blobs: { digest: string; bytes: Buffer }[] } {
  const config = describe(EMPTY_CONFIG.mediaType, EMPTY_CONFIG.bytes);
  const layer = describe(referrer.mediaType, referrer.bytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    artifactType: referrer.artifactType,
    config,
    layers: [layer],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(referrer.annotations && { annotations: referrer.annotations }),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  return {
    bytes,
    descriptor: {
      ...describe(MANIFEST_MEDIA_TYPE, bytes),
      artifactType: referrer.artifactType,
      ...(referrer.annotations && { annotations: referrer.annotations }),
    },
    blobs: [
      { digest: config.digest, bytes: EMPTY_CONFIG.bytes },
      { digest: layer.digest, bytes: referrer.bytes },
    ],
  };
}

/**
 * The one layer of a referrer manifest (already verified against its digest), checked to refer
 * to `subject` with `artifactType`; undefined for any other manifest.
 */
export function referrerLayer(
  bytes: Uint8Array,
  subject: string,
  artifactType: string,
  where: string,
): { layer: Descriptor; annotations: Record<string, string> } | undefined {
  const manifest = parseManifest(bytes, where) as ImageManifest & { subject?: { digest?: unknown } };
  if (manifest.subject?.digest !== subject || manifest.artifactType !== artifactType) return undefined;
  const [layer] = manifest.layers;
  if (!layer || manifest.layers.length !== 1) return undefined;
  const annotations = Object.fromEntries(
    Object.entries(manifest.annotations ?? {}).filter(([, value]) => typeof value === 'string'),
  );
  return { layer, annotations };
}

/** The files of an artifact manifest: each layer's title and the sha256 of its bytes (its digest). */
export function filesOf(manifest: ImageManifest): { name: string; sha256: string }[] {
  return manifest.layers.flatMap((layer) => {
    const name = titleOf(layer);
    return name && layer.digest.startsWith('sha256:') ? [{ name, sha256: layer.digest.slice('sha256:'.length) }] : [];
  });
}

/** The descriptors of a referrers index (or the fallback tag's index) of `artifactType`. */
export function referrersOf(bytes: Uint8Array, artifactType: string, where: string): ReferrerDescriptor[] {
  const index = ociJson(bytes, where) as { manifests?: unknown } | null;
  if (!Array.isArray(index?.manifests)) throw new ArtifactError(`${where}: not an OCI index (no manifests list)`);
  return (index.manifests as ReferrerDescriptor[]).filter(
    (entry) => entry?.artifactType === artifactType && typeof entry.digest === 'string',
  );
}

/** How many referrers of one type are read at most: a subject anyone can attach to stays cheap to check. */
export const MAX_REFERRERS = 16;
