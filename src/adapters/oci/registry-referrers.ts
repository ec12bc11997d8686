import { ArtifactError } from '../../core/errors.ts';
import type { AttachedBlob, Attachment } from '../../ports.ts';
import {
  buildReferrer,
  INDEX_MEDIA_TYPE,
  MANIFEST_MEDIA_TYPE,
  MAX_REFERRERS,
  ociJson,
  referrerLayer,
  referrersOf,
  type Descriptor,
} from './manifest.ts';
import { ensureBlob, pullScope, putManifest, readBlob, readManifest, writeManifest } from './registry-blobs.ts';
import type { RegistryClient } from './registry-client.ts';

/** The tag the OCI referrers tag schema lists `digest`'s referrers under: `sha256-<hex>`. */
export const fallbackTag = (digest: string) => digest.replace(':', '-');

/**
 * Attaches `attachment` to `subject` in `repository`: blobs, then the referrer manifest by
 * digest. A registry with the referrers API says so (`OCI-Subject`); for one without (Debian's
 * `docker-registry`, distribution 2.x) the referrer is added to the index under the fallback tag.
 * Two writers updating that index at once can lose one entry: the registry offers no
 * compare-and-swap on tags, so a publish attaches once and sites read every referrer listed.
 */
export async function attachReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  attachment: Attachment,
): Promise<string> {
  const made = buildReferrer(subject, attachment);
  for (const blob of made.blobs) await ensureBlob(client, repository, blob.bytes, blob.digest);
  const put = await putManifest(client, repository, made.descriptor.digest, MANIFEST_MEDIA_TYPE, made.bytes);
  if (put.subject === subject.digest) return made.descriptor.digest;
  const tag = fallbackTag(subject.digest);
  const listed = await readFallbackIndex(client, repository, tag);
  const manifests = listed ? indexEntries(listed, `${repository}:${tag}`) : [];
  if (manifests.some((entry) => (entry as { digest?: unknown } | null)?.digest === made.descriptor.digest))
    return made.descriptor.digest;
  const index = { schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [...manifests, made.descriptor] };
  await writeManifest(client, repository, tag, INDEX_MEDIA_TYPE, Buffer.from(JSON.stringify(index)));
  return made.descriptor.digest;
}

/**
 * The blobs attached to `subject` as `artifactType`: listed by the referrers API, or by the
 * fallback tag when the registry has no such API. Each referrer's manifest is read by digest and
 * must name `subject`; a listing cannot make anything else count as attached.
 */
export async function listReferrers(
  client: RegistryClient,
  repository: string,
  subject: string,
  artifactType: string,
): Promise<AttachedBlob[]> {
  const where = `referrers of ${repository}@${subject}`;
  const api = await client.request({
    method: 'GET',
    path: `/v2/${repository}/referrers/${subject}?artifactType=${encodeURIComponent(artifactType)}`,
    scope: pullScope(repository),
    headers: { accept: INDEX_MEDIA_TYPE },
    expect: [200, 404],
  });
  let listing: Buffer | undefined;
  if (api.status === 200) listing = await client.readCapped(api, where);
  else {
    await api.body?.cancel();
    listing = await readFallbackIndex(client, repository, fallbackTag(subject));
  }
  if (!listing) return [];
  const blobs: AttachedBlob[] = [];
  for (const entry of referrersOf(listing, artifactType, where).slice(0, MAX_REFERRERS)) {
    const manifest = await readManifest(client, repository, entry.digest, [MANIFEST_MEDIA_TYPE]);
    const found = referrerLayer(manifest.bytes, subject, artifactType, `referrer ${entry.digest}`);
    if (found)
      blobs.push({
        bytes: await readBlob(client, repository, found.layer.digest, `referrer ${entry.digest} of ${subject}`),
        annotations: found.annotations,
      });
  }
  return blobs;
}

/** The index under the fallback tag, or undefined when there is none. */
async function readFallbackIndex(client: RegistryClient, repository: string, tag: string) {
  const answer = await client.request({
    method: 'GET',
    path: `/v2/${repository}/manifests/${tag}`,
    scope: pullScope(repository),
    headers: { accept: INDEX_MEDIA_TYPE },
    expect: [200, 404],
  });
  if (answer.status === 404) {
    await answer.body?.cancel();
    return undefined;
  }
  return client.readCapped(answer, `${repository}:${tag}`);
}

function indexEntries(bytes: Buffer, where: string): unknown[] {
  const manifests = (ociJson(bytes, where) as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) throw new ArtifactError(`${where}: not an OCI index (no manifests list)`);
  return manifests;
}
