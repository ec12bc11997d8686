import { execFile, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageLayer } from '../../../src/adapters/oci/image-layer.ts';
import { ensureBlob, writeManifest } from '../../../src/adapters/oci/registry-blobs.ts';
import { RegistryClient } from '../../../src/adapters/oci/registry-client.ts';
import { RegistryStore } from '../../../src/adapters/oci/registry-store.ts';
import { collectOutputs } from '../../../src/adapters/training/local-process.ts';
import { imageModelOf } from '../../../src/serve/options.ts';
import { loadModel } from '../../../src/serve/model.ts';
import { attachedBundles, verifyModelAt } from '../../../src/adapters/signing/model-files.ts';
import { keyFileSigner } from '../../../src/adapters/signing/key-signer.ts';
import { SIGNATURE_MEDIA_TYPE } from '../../../src/core/artifact.ts';
import { publish } from '../../../src/services/publish.ts';
import { inject } from 'vitest';
import { ociSpec } from '../../helpers/oci-spec.ts';
import { startRegistry, type TestRegistry } from '../../helpers/registry.ts';
import { evaluationReport } from '../../helpers/release-world.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const run = promisify(execFile);
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Debian's skopeo, the independent reader of what edgeship pushed. */
async function skopeo(...args: string[]): Promise<string> {
  if (spawnSync('skopeo', ['--version'], { stdio: 'ignore' }).error)
    throw new Error(
      'skopeo not found: these tests read the pushed images back with it (apt-get install skopeo; .ci/setup does)',
    );
  return (await run('skopeo', args, { maxBuffer: 64 * 2 ** 20 })).stdout;
}

/** A base image pushed the way any registry client would: one image per platform, under an index when there are several. */
async function pushBase(
  client: RegistryClient,
  repository: string,
  platforms: [os: string, architecture: string][],
): Promise<string> {
  const manifests = [];
  for (const [os, architecture] of platforms) {
    const layer = await imageLayer([
      { path: `bin/base-${architecture}`, bytes: Buffer.from(`a ${architecture} base`) },
    ]);
    await ensureBlob(client, repository, layer.blob, layer.digest);
    const config = Buffer.from(
      JSON.stringify({
        created: '2026-01-01T00:00:00Z',
        architecture,
        os,
        config: { Env: ['PATH=/bin'], Labels: { base: 'yes' } },
        rootfs: { type: 'layers', diff_ids: [layer.diffId] },
        history: [{ created: '2026-01-01T00:00:00Z', created_by: 'the base' }],
      }),
    );
    await ensureBlob(client, repository, config, sha256(config));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [
          { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: layer.blob.length },
        ],
      }),
    );
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: await writeManifest(
        client,
        repository,
        sha256(manifest),
        'application/vnd.oci.image.manifest.v1+json',
        manifest,
      ),
      size: manifest.length,
      platform: { os, architecture },
    });
  }
  if (manifests.length === 1) return manifests[0]?.digest ?? '';
  const index = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
  return writeManifest(client, repository, 'latest', 'application/vnd.oci.image.index.v1+json', index);
}

/** The files of a gzip tar layer, by path. */
async function layerFiles(blob: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(Buffer.from(chunk as Uint8Array)));
    stream.on('end', () => {
      if (header.type === 'file') files.set(header.name, Buffer.concat(chunks));
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => reader.on('finish', () => resolve()).on('error', reject));
  reader.end(gunzipSync(blob));
  await done;
  return files;
}

describe('the model as a container image', () => {
  const tempDir = useTempDirs();
  let registry: TestRegistry;
  let bases: { modelcar: string; image: string };

  beforeAll(async () => {
    registry = await startRegistry();
    const client = new RegistryClient(registry.address);
    bases = {
      modelcar: `${registry.address}/base/busybox@${await pushBase(client, 'base/busybox', [['linux', 'amd64']])}`,
      image: `${registry.address}/base/edgeship-serving@${await pushBase(client, 'base/edgeship-serving', [
        ['linux', 'amd64'],
        ['linux', 'arm64'],
      ])}`,
    };
  });
  afterAll(async () => registry.stop());

  /** The example's training outputs, copied: publishing writes contract.json beside them. */
  const exampleOutputs = async () => {
    const directory = await tempDir();
    await cp(inject('exampleOutputs'), directory, { recursive: true });
    return collectOutputs(directory);
  };

  it('pushes a modelcar and a multi-arch serving image next to the artifact, that skopeo reads back as valid OCI images holding the model at /models', async () => {
    const store = new RegistryStore(`${registry.address}/models`);
    const outputs = await exampleOutputs();
    const report = await evaluationReport();
    const pushed = await publish(store, outputs, report, {
      modelcar: { base: bases.modelcar },
      image: { base: bases.image },
    });
    const { modelcar, image } = pushed.packages ?? {};
    expect(modelcar).toMatchObject({
      platforms: ['linux/amd64'],
      reference: `${registry.address}/models/pump-forecaster@${modelcar?.digest}`,
    });
    expect(image).toMatchObject({ platforms: ['linux/amd64', 'linux/arm64'] });
    const spec = await ociSpec();

    // The modelcar, copied by skopeo into an OCI layout: manifest, config and layers as the spec says.
    const layout = await tempDir();
    await skopeo('copy', '--src-tls-verify=false', `docker://${modelcar?.reference}`, `oci:${layout}:modelcar`);
    const blob = (digest: string) => readFile(join(layout, 'blobs/sha256', digest.slice('sha256:'.length)));
    const top = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse((await blob(top.manifests[0]?.digest ?? '')).toString()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    spec.manifest(manifest);
    const config = JSON.parse((await blob(manifest.config.digest)).toString()) as {
      rootfs: { diff_ids: string[] };
      config: { Labels: Record<string, string> };
      os: string;
      architecture: string;
    };
    spec.config(config);
    // The spec's schemas do refuse what they forbid.
    expect(() => spec.config({ ...config, rootfs: { type: 'layers', diff_ids: 'sha256:x' } })).toThrow(/config-schema/);
    expect(config).toMatchObject({
      os: 'linux',
      architecture: 'amd64',
      config: {
        Labels: {
          base: 'yes',
          'org.opencontainers.image.version': report.version.version,
          'io.edgeship.artifact': pushed.reference,
        },
      },
    });
    // Each diff ID is the digest of its layer uncompressed; the base's layer stays first.
    const layers = await Promise.all(manifest.layers.map((layer) => blob(layer.digest)));
    expect(layers.map((layer) => sha256(gunzipSync(layer)))).toEqual(config.rootfs.diff_ids);
    expect([...(await layerFiles(layers[0] as Buffer)).keys()]).toEqual(['bin/base-amd64']);
    const files = await layerFiles(layers[1] as Buffer);
    expect([...files.keys()]).toEqual([
      'models/contract.json',
      'models/edgeship.json',
      'models/golden.json',
      'models/metrics.json',
      'models/model.onnx',
      'models/reference-stats.json',
    ]);
    expect(files.get('models/model.onnx')?.equals(await readFile(outputs.model))).toBe(true);
    // What `edgeship serve` finds in an image without EDGESHIP_MODEL: the model, named and versioned.
    const root = await tempDir();
    await mkdir(join(root, 'models'));
    for (const [path, bytes] of files) await writeFile(join(root, path), bytes);
    const found = await imageModelOf(join(root, 'models'));
    expect(found).toEqual({
      file: join(root, 'models/model.onnx'),
      name: 'pump-forecaster',
      version: report.version.version,
    });
    const served = await loadModel({
      model: found?.file ?? '',
      name: found?.name ?? '',
      version: found?.version ?? '',
    });
    expect(served.reference?.features.length).toBeGreaterThan(0);
    await served.worker.close();

    // The serving image: one image per platform of the base's index, under one index.
    const raw = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--raw', `docker://${image?.reference}`)) as {
      manifests: { platform: { os: string; architecture: string } }[];
    };
    spec.index(raw);
    expect(raw.manifests.map((entry) => `${entry.platform.os}/${entry.platform.architecture}`)).toEqual([
      'linux/amd64',
      'linux/arm64',
    ]);
    const arm = JSON.parse(
      await skopeo('inspect', '--tls-verify=false', '--override-arch', 'arm64', `docker://${image?.reference}`),
    ) as { Architecture: string; Layers: string[] };
    expect(arm.Architecture).toBe('arm64');
    expect(arm.Layers).toHaveLength(2);
    const all = await tempDir();
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${image?.reference}`, `oci:${all}:serving`);

    // The same release published again: the same digests (layers built reproducibly).
    const again = await publish(store, outputs, report, {
      modelcar: { base: bases.modelcar },
      image: { base: bases.image },
    });
    expect(again.packages).toEqual(pushed.packages);

    // Signed, the images keep their digests and carry the artifact's signature as a referrer; it
    // holds for the files at /models (all but edgeship.json, which names the release).
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyFile = join(await tempDir(), 'signing.key');
    await writeFile(keyFile, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const signed = await publish(
      store,
      outputs,
      report,
      { modelcar: { base: bases.modelcar }, image: { base: bases.image } },
      keyFileSigner(keyFile),
    );
    expect(signed.packages).toEqual(pushed.packages);
    for (const pushedImage of [modelcar, image])
      expect(await store.attached(pushedImage?.reference ?? '', SIGNATURE_MEDIA_TYPE)).toHaveLength(1);
    const bundles = attachedBundles('modelcar', await store.attached(modelcar?.reference ?? '', SIGNATURE_MEDIA_TYPE));
    const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const verified = await verifyModelAt(
      join(root, 'models'),
      bundles,
      { keys: [publicKey], identities: [] },
      'unsigned',
      'edgeship.json',
    );
    expect(verified.files).toBe(5);
  });

  it('refuses a base image on another registry, where the credentials must not go, and images without a registry', async () => {
    const store = new RegistryStore(`${registry.address}/models`);
    const outputs = await exampleOutputs();
    const report = await evaluationReport();
    await expect(
      publish(store, outputs, report, { modelcar: { base: `registry.example/base/busybox@sha256:${'a'.repeat(64)}` } }),
    ).rejects.toThrow(
      `base image registry.example/base/busybox@sha256:${'a'.repeat(64)}: expected an image on ${registry.address} (where artifacts go) pinned by digest; copy it there first (skopeo copy)`,
    );
    // A platform name from the base reaches the report: held to os/architecture.
    const odd = await pushBase(new RegistryClient(registry.address), 'base/odd', [
      ['linux', 'amd64'],
      ['linux', 'ARM64_v8'],
    ]);
    await expect(
      publish(store, outputs, report, { image: { base: `${registry.address}/base/odd@${odd}` } }),
    ).rejects.toThrow(
      'platform of a base image index entry: expected a platform such as linux/arm64, found "linux/ARM64_v8"',
    );
  });
});
