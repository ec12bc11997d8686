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
 * A tag of one referrer's own (`sha256-<subject>.<16 digits of the referrer>`): written once by
 * the one publisher that attaches it, so concurrent publishers cannot drop each other's the way
 * they can drop entries of the shared fallback index.
 */
export const referrerTag = (subject: string, referrer: string) =>
  `${fallbackTag(subject)}.${referrer.replace(/^sha256:/, '').slice(0, 16)}`;

/** Tags read per page when listing a repository's tags. */
const TAGS_PAGE = 1000;
/** Pages of tags read at most while looking for referrer tags. */
const MAX_TAG_PAGES = 20;

/**
 * Attaches `attachment` to `subject` in `repository`: blobs, then the referrer manifest by
 * digest. A registry with the referrers API says so (`OCI-Subject`); for one without (Debian's
 * `docker-registry`, distribution 2.x) the referrer gets a tag of its own (referrerTag) and is
 * added to the index under the fallback tag, as other OCI tools read it. Two writers updating
 * that index at once can lose one entry (the registry offers no compare-and-swap on tags); the
 * referrer's own tag is not lost, and listReferrers reads both.
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
  await writeManifest(
    client,
    repository,
    referrerTag(subject.digest, made.descriptor.digest),
    MANIFEST_MEDIA_TYPE,
    made.bytes,
  );
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
 * The blobs attached to `subject` as `artifactType`: listed by the referrers API, or, when the
 * registry has no such API, by the fallback tag's index and the referrers' own tags. Each
 * referrer's manifest is read by digest and must name `subject`; a listing cannot make anything
 * else count as attached.
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
  let digests: string[];
  if (api.status === 200)
    digests = referrersOf(await client.readCapped(api, where), artifactType, where).map((entry) => entry.digest);
  else {
    await api.body?.cancel();
    const listing = await readFallbackIndex(client, repository, fallbackTag(subject));
    const indexed = listing ? referrersOf(listing, artifactType, where).map((entry) => entry.digest) : [];
    // A referrer whose index entry a concurrent writer dropped is still under its own tag.
    const tagged = await referrerTagsOf(client, repository, subject);
    const known = new Set(
      (listing ? indexEntries(listing, where) : []).map((entry) => {
        const digest = (entry as { digest?: unknown } | null)?.digest;
        return typeof digest === 'string' ? digest.slice(7, 23) : '';
      }),
    );
    digests = [...indexed];
    for (const tag of tagged) {
      if (known.has(tag.slice(tag.lastIndexOf('.') + 1))) continue;
      digests.push((await readManifest(client, repository, tag, [MANIFEST_MEDIA_TYPE])).digest);
    }
  }
  const blobs: AttachedBlob[] = [];
  for (const digest of digests.slice(0, MAX_REFERRERS)) {
    const entry = { digest };
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

/**
 * The referrer tags of `subject` (referrerTag) among the repository's tags, paged as the
 * distribution API pages them (`n`, and `last` from the Link header).
 */
async function referrerTagsOf(client: RegistryClient, repository: string, subject: string): Promise<string[]> {
  // Only tags of exactly referrerTag's form: a name from the registry goes into a request path.
  const own = new RegExp(`^${fallbackTag(subject)}\\.[0-9a-f]{16}$`);
  const found: string[] = [];
  let path: string | undefined = `/v2/${repository}/tags/list?n=${TAGS_PAGE}`;
  for (let page = 0; path && page < MAX_TAG_PAGES; page += 1) {
    const answer = await client.request({ method: 'GET', path, scope: pullScope(repository), expect: [200, 404] });
    if (answer.status === 404) {
      await answer.body?.cancel();
      break;
    }
    const where = `tags of ${repository}`;
    const tags = (ociJson(await client.readCapped(answer, where), where) as { tags?: unknown } | null)?.tags;
    if (Array.isArray(tags)) for (const tag of tags) if (typeof tag === 'string' && own.test(tag)) found.push(tag);
    const next = /<([^>]+)>;\s*rel="?next"?/.exec(answer.headers.get('link') ?? '')?.[1];
    path = next ? new URL(next, 'http://registry').pathname + new URL(next, 'http://registry').search : undefined;
  }
  return found.slice(0, MAX_REFERRERS);
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
