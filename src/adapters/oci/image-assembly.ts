import { ArtifactError } from '../../core/errors.ts';
import type { ImageLayer } from './image-layer.ts';
import { ociJson, sha256 } from './manifest.ts';
import {
  ensureBlob,
  readBlob,
  readManifest,
  shareBlob,
  writeManifest,
  type FetchedManifest,
} from './registry-blobs.ts';
import type { RegistryClient } from './registry-client.ts';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

interface ImageConfig {
  architecture?: string;
  os?: string;
  config?: { Labels?: Record<string, string> } & Record<string, unknown>;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: Record<string, unknown>[];
  created?: string;
}

export interface AppendRequest {
  /** The base image on the same registry, pinned by digest: an image manifest or an index. */
  base: { repository: string; digest: string };
  /** Where the new image goes. */
  repository: string;
  tag: string;
  layer: ImageLayer;
  /** The image's creation time (RFC 3339): the release's, so the same release gives the same digest. */
  created: string;
  labels: Record<string, string>;
  /** What the new layer is, in the config's history. */
  createdBy: string;
}

export interface AssembledImage {
  digest: string;
  mediaType: string;
  /** `os/architecture[/variant]` of each image, one for a single-platform base. */
  platforms: string[];
}

const parse = <T>(fetched: { bytes: Buffer }, what: string): T => ociJson(fetched.bytes, what) as T;

/**
 * A new image: the base image plus one layer, assembled registry-side, without a container
 * engine: the base's manifest and config are read by digest, its layers shared into the target
 * repository, the layer appended to the config's rootfs and history, and the new config and
 * manifest written. An index base gives one new image per platform under a new index, the
 * platforms as the base has them. Only the layer and the config's time and labels are new, so the
 * same base, layer and time give the same digest.
 */
export async function appendLayer(client: RegistryClient, request: AppendRequest): Promise<AssembledImage> {
  const where = `base image ${client.registry}/${request.base.repository}@${request.base.digest}`;
  const top = await readManifest(client, request.base.repository, request.base.digest, ACCEPT);
  await ensureBlob(client, request.repository, request.layer.blob, request.layer.digest);
  if (top.mediaType === OCI_INDEX || top.mediaType === DOCKER_LIST) {
    const index = parse<{ manifests?: Descriptor[] }>(top, where);
    // Attestations and other non-images (platform unknown/unknown) are not images to extend.
    const images = (index.manifests ?? []).filter((entry) => entry.platform && entry.platform.os !== 'unknown');
    if (images.length === 0) throw new ArtifactError(`${where}: an index without a platform image`);
    const manifests: Descriptor[] = [];
    for (const entry of images) {
      const child = await readManifest(client, request.base.repository, entry.digest, ACCEPT);
      const made = await extend(client, request, child, `${where} (${platformOf(entry)})`);
      manifests.push({
        mediaType: made.mediaType,
        digest: made.digest,
        size: made.size,
        ...(entry.platform && { platform: entry.platform }),
      });
    }
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    const digest = await writeManifest(client, request.repository, request.tag, OCI_INDEX, bytes);
    return { digest, mediaType: OCI_INDEX, platforms: images.map(platformOf) };
  }
  const made = await extend(client, request, top, where);
  await writeManifest(client, request.repository, request.tag, made.mediaType, made.bytes);
  return { digest: made.digest, mediaType: made.mediaType, platforms: [made.platform] };
}

/** `os/architecture[/variant]`, held to that grammar: the base image is a repo writer's choice, and the name reaches the report. */
function platformName(parts: (string | undefined)[], where: string): string {
  const name = parts.filter(Boolean).join('/');
  if (!/^[a-z0-9]+\/[a-z0-9]+(\/[a-z0-9]+)?$/.test(name))
    throw new ArtifactError(
      `${where}: expected a platform such as linux/arm64, found ${JSON.stringify(name).slice(0, 80)}`,
    );
  return name;
}

const platformOf = (entry: Descriptor) =>
  platformName(
    [entry.platform?.os, entry.platform?.architecture, entry.platform?.variant],
    'platform of a base image index entry',
  );

/** One platform's image with the layer appended; written by digest (an index refers to it). */
async function extend(client: RegistryClient, request: AppendRequest, fetched: FetchedManifest, where: string) {
  const manifest = parse<Manifest>(fetched, where);
  if (manifest.schemaVersion !== 2 || !manifest.config || !Array.isArray(manifest.layers))
    throw new ArtifactError(`${where}: not an image manifest`);
  const docker = fetched.mediaType === DOCKER_MANIFEST;
  const config = parse<ImageConfig>(
    { bytes: await readBlob(client, request.base.repository, manifest.config.digest, `config of ${where}`) },
    `config of ${where}`,
  );
  if (
    config.rootfs?.type !== 'layers' ||
    !Array.isArray(config.rootfs.diff_ids) ||
    config.rootfs.diff_ids.length !== manifest.layers.length
  ) {
    throw new ArtifactError(`${where}: its config's rootfs.diff_ids do not match its ${manifest.layers.length} layers`);
  }
  for (const layer of manifest.layers)
    await shareBlob(client, request.base.repository, request.repository, layer.digest);
  const next: ImageConfig = {
    ...config,
    created: request.created,
    config: { ...config.config, Labels: { ...config.config?.Labels, ...request.labels } },
    rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids, request.layer.diffId] },
    history: [...(config.history ?? []), { created: request.created, created_by: request.createdBy }],
  };
  const configBytes = Buffer.from(JSON.stringify(next));
  const configDigest = sha256(configBytes);
  await ensureBlob(client, request.repository, configBytes, configDigest);
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const layer: Descriptor = {
    mediaType: docker ? DOCKER_LAYER : OCI_LAYER,
    digest: request.layer.digest,
    size: request.layer.blob.length,
  };
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: docker ? manifest.config.mediaType : OCI_CONFIG,
        digest: configDigest,
        size: configBytes.length,
      },
      layers: [...manifest.layers, layer],
      ...(manifest.annotations && { annotations: manifest.annotations }),
    }),
  );
  const digest = await writeManifest(client, request.repository, sha256(bytes), mediaType, bytes);
  return {
    digest,
    mediaType,
    size: bytes.length,
    bytes,
    platform: platformName([config.os, config.architecture], `config of ${where}`),
  };
}
