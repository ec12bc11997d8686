import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LayoutStore } from '../../../src/adapters/oci/layout-store.ts';
import { MEDIA_TYPES } from '../../../src/adapters/oci/manifest.ts';
import { RegistryStore } from '../../../src/adapters/oci/registry-store.ts';
import type { ArtifactStore, AttachedBlob, Attachment, PushRequest } from '../../../src/ports.ts';
import { ociSpec } from '../../helpers/oci-spec.ts';
import { startReferrersProxy } from '../../helpers/referrers-proxy.ts';
import { startRegistry, type TestRegistry } from '../../helpers/registry.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const SIGNATURE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** The attached blobs as text. */
const text = (blob: AttachedBlob) => blob.bytes.toString('utf8');
const attachment = (content: string, artifactType = SIGNATURE): Attachment => ({
  artifactType,
  mediaType: artifactType,
  bytes: Buffer.from(content),
  annotations: { 'org.example.note': content.slice(0, 20) },
});

function request(tag: string): PushRequest {
  const dir = inject('exampleOutputs');
  const file = (name: keyof typeof MEDIA_TYPES) => ({ name, mediaType: MEDIA_TYPES[name], path: join(dir, name) });
  return { name: 'pump', tag, files: [file('model.onnx'), file('metrics.json')], config: { model: 'pump', tag } };
}

/** What attaching must do in every store: list what was attached to that artifact, of that type, once. */
function attachContract(name: string, make: () => Promise<ArtifactStore>) {
  describe(name, () => {
    const tempDir = useTempDirs();

    it('lists what was attached to an artifact, once per content, of the type asked for, and leaves the artifact as it was', async () => {
      const store = await make();
      const pushed = await store.push(request('1.0.0'));
      const other = await store.push(request('2.0.0'));
      expect(await store.attached(pushed.reference, SIGNATURE)).toEqual([]);
      const first = await store.attach(pushed.reference, attachment('{"first":1}'));
      expect(await store.attach(pushed.reference, attachment('{"first":1}'))).toBe(first);
      await store.attach(pushed.reference, attachment('{"second":2}'));
      await store.attach(pushed.reference, attachment('provenance', 'application/vnd.in-toto+json'));
      const listed = (await store.attached(pushed.reference, SIGNATURE)).map(text).sort();
      expect(listed).toEqual(['{"first":1}', '{"second":2}']);
      expect(await store.attached(pushed.reference, 'application/vnd.in-toto+json')).toEqual([
        { bytes: Buffer.from('provenance'), annotations: { 'org.example.note': 'provenance' } },
      ]);
      // Another artifact has nothing attached; the artifact still pulls as the same digest.
      expect(await store.attached(other.reference, SIGNATURE)).toEqual([]);
      const pulled = await store.pull(pushed.reference, join(await tempDir(), 'out'));
      expect(pulled.digest).toBe(pushed.digest);
      expect(Object.keys(pulled.files).sort()).toEqual(['metrics.json', 'model.onnx']);
    });

    it('refuses to attach to a reference that is not pinned by digest', async () => {
      const store = await make();
      const pushed = await store.push(request('3.0.0'));
      const tagged = pushed.reference.replace(/@sha256:.*$/, ':3.0.0');
      await expect(store.attach(tagged, attachment('x'))).rejects.toThrow(/pinned by digest/);
    });
  });
}

describe('referrers', () => {
  const tempDir = useTempDirs();
  let registry: TestRegistry;
  let proxy: Awaited<ReturnType<typeof startReferrersProxy>>;
  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startReferrersProxy(registry.address);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  attachContract('in an OCI layout', async () => new LayoutStore(await tempDir()));
  attachContract('on docker-registry (no referrers API: the fallback tag)', async () => {
    return new RegistryStore(`${registry.address}/fallback-${Math.random().toString(36).slice(2, 8)}`);
  });
  attachContract('on a registry with the referrers API', async () => {
    return new RegistryStore(`${proxy.address}/api-${Math.random().toString(36).slice(2, 8)}`);
  });

  it('on docker-registry, lists the referrer under sha256-<digest> in an index the image spec accepts', async () => {
    const spec = await ociSpec();
    const store = new RegistryStore(`${registry.address}/spec`);
    const pushed = await store.push(request('1.0.0'));
    const referrer = await store.attach(pushed.reference, attachment('{"bundle":true}'));
    const base = `http://${registry.address}/v2/spec/pump`;
    expect((await fetch(`${base}/referrers/${pushed.digest}`)).status).toBe(404);
    const index = await fetch(`${base}/manifests/${pushed.digest.replace(':', '-')}`, {
      headers: { accept: 'application/vnd.oci.image.index.v1+json' },
    });
    const listed = (await index.json()) as { manifests: { digest: string; artifactType: string }[] };
    spec.index(listed);
    expect(listed.manifests).toEqual([expect.objectContaining({ digest: referrer, artifactType: SIGNATURE })]);
    const manifest = (await (
      await fetch(`${base}/manifests/${referrer}`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      })
    ).json()) as { subject: { digest: string }; config: { mediaType: string } };
    spec.manifest(manifest);
    expect(manifest.subject.digest).toBe(pushed.digest);
    expect(manifest.config.mediaType).toBe('application/vnd.oci.empty.v1+json');
  });

  it('on docker-registry, keeps every referrer of 8 publishers attaching at once, though their index updates race', async () => {
    const store = new RegistryStore(`${registry.address}/racing`);
    const pushed = await store.push(request('1.0.0'));
    const bundles = Array.from({ length: 8 }, (_, index) => `{"bundle":"by publisher ${index}"}`);
    const attached = await Promise.all(
      bundles.map((bundle) =>
        new RegistryStore(`${registry.address}/racing`).attach(pushed.reference, attachment(bundle)),
      ),
    );
    expect(new Set(attached).size).toBe(8);
    expect((await store.attached(pushed.reference, SIGNATURE)).map(text).sort()).toEqual([...bundles].sort());
    // Each has a tag of its own beside the shared index.
    const tags = (await (await fetch(`http://${registry.address}/v2/racing/pump/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags.filter((tag) => tag.startsWith(`${pushed.digest.replace(':', '-')}.`))).toHaveLength(8);
  });

  it('through the referrers API, writes no fallback tag', async () => {
    const store = new RegistryStore(`${proxy.address}/api`);
    const pushed = await store.push(request('1.0.0'));
    await store.attach(pushed.reference, attachment('{"bundle":true}'));
    const tag = await fetch(`http://${registry.address}/v2/api/pump/manifests/${pushed.digest.replace(':', '-')}`);
    expect(tag.status).toBe(404);
    expect((await store.attached(pushed.reference, SIGNATURE)).map(text)).toEqual(['{"bundle":true}']);
    expect(proxy.requests).toContain(`GET /v2/api/pump/referrers/${pushed.digest}`);
  });

  it('ignores a listed referrer whose manifest names another subject', async () => {
    const store = new RegistryStore(`${registry.address}/copied`);
    const signed = await store.push(request('1.0.0'));
    const other = await store.push(request('2.0.0'));
    await store.attach(signed.reference, attachment('{"bundle":"for 1.0.0"}'));
    // A writer copies 1.0.0's listing under 2.0.0's fallback tag: the referrer still names 1.0.0.
    const base = `http://${registry.address}/v2/copied/pump/manifests`;
    const listing = await (
      await fetch(`${base}/${signed.digest.replace(':', '-')}`, {
        headers: { accept: 'application/vnd.oci.image.index.v1+json' },
      })
    ).text();
    const put = await fetch(`${base}/${other.digest.replace(':', '-')}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
      body: listing,
    });
    expect(put.status).toBe(201);
    expect(await store.attached(other.reference, SIGNATURE)).toEqual([]);
    expect((await store.attached(signed.reference, SIGNATURE)).map(text)).toEqual(['{"bundle":"for 1.0.0"}']);
  });
});
