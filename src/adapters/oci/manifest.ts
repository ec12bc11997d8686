import { createHash } from 'node:crypto';
import { ArtifactError } from '../../core/errors.ts';
import { parseJson } from '../../core/parse-json.ts';

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
