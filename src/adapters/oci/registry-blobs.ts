import { ArtifactError } from '../../core/errors.ts';
import { verify } from './artifact-io.ts';
import { ociJson, sha256 } from './manifest.ts';
import type { RegistryClient } from './registry-client.ts';

export const pushScope = (repository: string) => `repository:${repository}:pull,push`;
export const pullScope = (repository: string) => `repository:${repository}:pull`;

/** Uploads a blob (one monolithic PUT) unless the repository has it already. */
export async function ensureBlob(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  digest: string,
): Promise<void> {
  const scope = pushScope(repository);
  const head = await client.request({
    method: 'HEAD',
    path: `/v2/${repository}/blobs/${digest}`,
    scope,
    expect: [200, 404],
  });
  if (head.status === 200) return;
  const start = await client.request({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/`,
    scope,
    expect: [202],
  });
  await start.body?.cancel();
  await finishUpload(client, repository, start.headers.get('location'), bytes, digest);
}

async function finishUpload(
  client: RegistryClient,
  repository: string,
  location: string | null,
  bytes: Buffer,
  digest: string,
): Promise<void> {
  if (!location) throw new ArtifactError(`${client.registry} started an upload without a Location header`);
  const url = new URL(location, `http://${client.registry}`);
  url.searchParams.set('digest', digest);
  const target = /^https?:\/\//.test(location) ? url.toString() : `${url.pathname}${url.search}`;
  const put = await client.request({
    method: 'PUT',
    path: target,
    scope: pushScope(repository),
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
    expect: [201],
  });
  await put.body?.cancel();
}

/** A blob of `repository`, verified against its digest. */
export async function readBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  what: string,
): Promise<Buffer> {
  const answer = await client.request({
    method: 'GET',
    path: `/v2/${repository}/blobs/${digest}`,
    scope: pullScope(repository),
    expect: [200],
  });
  const bytes = await client.readCapped(answer, what);
  verify(bytes, digest, what);
  return bytes;
}

/**
 * Makes a blob of `from` available in `to` on the same registry: mounted across repositories
 * where the registry allows it, copied otherwise.
 */
export async function shareBlob(client: RegistryClient, from: string, to: string, digest: string): Promise<void> {
  if (from === to) return;
  const scope = pushScope(to);
  const head = await client.request({ method: 'HEAD', path: `/v2/${to}/blobs/${digest}`, scope, expect: [200, 404] });
  if (head.status === 200) return;
  const mount = await client.request({
    method: 'POST',
    path: `/v2/${to}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
    scope,
    expect: [201, 202],
  });
  await mount.body?.cancel();
  if (mount.status === 201) return;
  await finishUpload(
    client,
    to,
    mount.headers.get('location'),
    await readBlob(client, from, digest, `layer ${digest} of ${from}`),
    digest,
  );
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  mediaType: string;
}

/** The manifest (or index) `reference` names in `repository`, verified when asked for by digest. */
export async function readManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  accept: readonly string[],
): Promise<FetchedManifest> {
  const answer = await client.request({
    method: 'GET',
    path: `/v2/${repository}/manifests/${reference}`,
    scope: pullScope(repository),
    headers: { accept: accept.join(', ') },
    expect: [200],
  });
  const bytes = await client.readCapped(answer, `manifest ${repository}@${reference}`);
  const digest = reference.startsWith('sha256:') ? reference : sha256(bytes);
  verify(bytes, digest, `manifest ${repository}@${reference}`);
  const declared = (ociJson(bytes, `manifest ${repository}@${reference}`) as { mediaType?: unknown } | null)?.mediaType;
  const mediaType =
    typeof declared === 'string' ? declared : ((answer.headers.get('content-type') ?? '').split(';')[0] ?? '');
  return { bytes, digest, mediaType };
}

/** Stores a manifest under a tag (or its digest) and checks the registry kept the same bytes. */
export async function writeManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer,
): Promise<string> {
  return (await putManifest(client, repository, reference, mediaType, bytes)).digest;
}

/**
 * writeManifest, with the registry's `OCI-Subject` answer: set when the registry took a
 * manifest's `subject` into its referrers API (OCI distribution 1.1).
 */
export async function putManifest(
  client: RegistryClient,
  repository: string,
  reference: string,
  mediaType: string,
  bytes: Buffer,
): Promise<{ digest: string; subject: string | undefined }> {
  const put = await client.request({
    method: 'PUT',
    path: `/v2/${repository}/manifests/${reference}`,
    scope: pushScope(repository),
    headers: { 'content-type': mediaType },
    body: bytes,
    expect: [201],
  });
  await put.body?.cancel();
  const digest = sha256(bytes);
  const answered = put.headers.get('docker-content-digest');
  if (answered && answered !== digest)
    throw new ArtifactError(
      `${client.registry} stored the manifest of ${repository} as ${answered}, expected ${digest}`,
    );
  return { digest, subject: put.headers.get('oci-subject') ?? undefined };
}
