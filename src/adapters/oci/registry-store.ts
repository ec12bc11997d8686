import { ArtifactError } from '../../core/errors.ts';
import type {
  ArtifactStore,
  AttachedBlob,
  Attachment,
  ImageRequest,
  PulledArtifact,
  PushedArtifact,
  PushedImage,
  PushRequest,
} from '../../ports.ts';
import { appendLayer } from './image-assembly.ts';
import { imageLayer } from './image-layer.ts';
import { checkExistingTag, materialize, prepareArtifact, safeFileName, verify } from './artifact-io.ts';
import { filesOf, INDEX_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, ociJson, parseManifest, sha256, titleOf } from './manifest.ts';
import { formatReference, parseReference } from './reference.ts';
import { ensureBlob, readManifest, writeManifest } from './registry-blobs.ts';
import { attachReferrer, listReferrers } from './registry-referrers.ts';
import { RegistryClient, type RegistryClientOptions } from './registry-client.ts';

/** ArtifactStore over an OCI registry (distribution API), e.g. GHCR or `docker-registry`. */
export class RegistryStore implements ArtifactStore {
  private readonly client: RegistryClient;
  private readonly namespace: string;

  /** `location` is `registry[/namespace]`; each model becomes `namespace/<model>`. */
  constructor(location: string, options: RegistryClientOptions = {}) {
    const probe = parseReference(`${location.replace(/\/+$/, '')}/probe`);
    if (probe.kind !== 'registry') throw new ArtifactError(`${location} is not a registry location`);
    this.client = new RegistryClient(probe.registry, options);
    this.namespace = probe.repository.replace(/\/?probe$/, '');
  }

  async push(request: PushRequest): Promise<PushedArtifact> {
    const repository = this.namespace ? `${this.namespace}/${request.name}` : request.name;
    const scope = `repository:${repository}:pull,push`;
    const prepared = await prepareArtifact(request);
    if (request.immutable) {
      const existing = await this.existing(repository, request.tag, scope);
      if (existing && checkExistingTag(request, prepared, existing, this.client.registry) === 'equivalent') {
        return {
          digest: existing.digest,
          reference: formatReference({
            kind: 'registry',
            registry: this.client.registry,
            repository,
            digest: existing.digest,
          }),
        };
      }
    }
    for (const blob of prepared.blobs) await ensureBlob(this.client, repository, blob.bytes, blob.descriptor.digest);
    // The manifest goes last: until it exists, nothing refers to the blobs just uploaded.
    await writeManifest(this.client, repository, request.tag, MANIFEST_MEDIA_TYPE, prepared.manifest.bytes);
    const digest = prepared.manifest.digest;
    return {
      digest,
      reference: formatReference({ kind: 'registry', registry: this.client.registry, repository, digest }),
    };
  }

  /**
   * A container image: `request.base` (on this registry, pinned by digest: credentials never go
   * to a registry a repo names) plus one layer with the files, in the model's repository.
   */
  async pushImage(request: ImageRequest): Promise<PushedImage> {
    const base = parseReference(request.base);
    if (base.kind !== 'registry' || base.registry !== this.client.registry || !base.digest) {
      throw new ArtifactError(
        `base image ${request.base}: expected an image on ${this.client.registry} (where artifacts go) pinned by digest; copy it there first (skopeo copy)`,
      );
    }
    const repository = this.namespace ? `${this.namespace}/${request.name}` : request.name;
    const layer = await imageLayer(request.files);
    const image = await appendLayer(this.client, {
      base: { repository: base.repository, digest: base.digest },
      repository,
      tag: request.tag,
      layer,
      created: request.created,
      labels: request.labels,
      createdBy: request.createdBy,
    });
    return {
      digest: image.digest,
      platforms: image.platforms,
      reference: formatReference({
        kind: 'registry',
        registry: this.client.registry,
        repository,
        digest: image.digest,
      }),
    };
  }

  async attach(reference: string, attachment: Attachment): Promise<string> {
    const { repository, digest } = this.pinned(reference);
    const subject = await readManifest(this.client, repository, digest, [MANIFEST_MEDIA_TYPE, INDEX_MEDIA_TYPE]);
    return attachReferrer(
      this.client,
      repository,
      { mediaType: subject.mediaType, digest, size: subject.bytes.length },
      attachment,
    );
  }

  async attached(reference: string, artifactType: string): Promise<AttachedBlob[]> {
    const { repository, digest } = this.pinned(reference);
    return listReferrers(this.client, repository, digest, artifactType);
  }

  async listFiles(reference: string): Promise<{ name: string; sha256: string }[]> {
    const { repository, digest } = this.pinned(reference);
    const manifest = await readManifest(this.client, repository, digest, [MANIFEST_MEDIA_TYPE]);
    return filesOf(parseManifest(manifest.bytes, reference));
  }

  /** A reference on this store's registry, pinned by digest: what referrers attach to. */
  private pinned(text: string): { repository: string; digest: string } {
    const reference = parseReference(text);
    if (reference.kind !== 'registry' || reference.registry !== this.client.registry || !reference.digest)
      throw new ArtifactError(`${text}: expected a reference on ${this.client.registry} pinned by digest (@sha256:…)`);
    return { repository: reference.repository, digest: reference.digest };
  }

  /** The manifest digest and config a tag holds, if it exists. */
  private async existing(
    repository: string,
    tag: string,
    scope: string,
  ): Promise<{ digest: string; config: unknown } | undefined> {
    const response = await this.client.request({
      method: 'GET',
      path: `/v2/${repository}/manifests/${tag}`,
      scope,
      headers: { accept: MANIFEST_MEDIA_TYPE },
      expect: [200, 404],
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    const bytes = await this.client.readCapped(response, `manifest of ${repository}:${tag}`);
    const digest = sha256(bytes);
    const manifest = parseManifest(bytes, `${repository}:${tag}`);
    const blob = await this.client.request({
      method: 'GET',
      path: `/v2/${repository}/blobs/${manifest.config.digest}`,
      scope,
      expect: [200],
    });
    const config = await this.client.readCapped(blob, `config of ${repository}:${tag}`);
    verify(config, manifest.config.digest, `config of ${repository}:${tag}`);
    return { digest, config: ociJson(config, `config of ${repository}:${tag}`) };
  }

  async pull(text: string, destination: string): Promise<PulledArtifact> {
    const reference = parseReference(text);
    if (reference.kind !== 'registry') throw new ArtifactError(`${text} is not a registry reference`);
    const scope = `repository:${reference.repository}:pull`;
    const response = await this.client.request({
      method: 'GET',
      path: `/v2/${reference.repository}/manifests/${reference.digest ?? reference.tag ?? 'latest'}`,
      scope,
      headers: { accept: MANIFEST_MEDIA_TYPE },
      expect: [200],
    });
    const manifestBytes = await this.client.readCapped(response, `manifest of ${text}`);
    const digest = reference.digest ?? response.headers.get('docker-content-digest') ?? sha256(manifestBytes);
    verify(manifestBytes, digest, `manifest of ${text}`);
    const manifest = parseManifest(manifestBytes, text);
    const blob = async (blobDigest: string) => {
      const answer = await this.client.request({
        method: 'GET',
        path: `/v2/${reference.repository}/blobs/${blobDigest}`,
        scope,
        expect: [200],
      });
      const bytes = await this.client.readCapped(answer, `blob ${blobDigest} of ${text}`);
      verify(bytes, blobDigest, `blob ${blobDigest} of ${text}`);
      return bytes;
    };
    const config = ociJson(await blob(manifest.config.digest), `config of ${text}`);
    const files = [];
    for (const layer of manifest.layers)
      files.push({ name: safeFileName(titleOf(layer), layer.digest), bytes: await blob(layer.digest) });
    return { digest, config, files: await materialize(destination, files) };
  }
}
