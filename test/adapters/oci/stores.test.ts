import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LayoutStore } from '../../../src/adapters/oci/layout-store.ts';
import { MEDIA_TYPES } from '../../../src/adapters/oci/manifest.ts';
import { RegistryStore } from '../../../src/adapters/oci/registry-store.ts';
import { ArtifactError } from '../../../src/core/errors.ts';
import type { ArtifactStore, PushRequest } from '../../../src/ports.ts';
import { freePort, startRegistry, type TestRegistry } from '../../helpers/registry.ts';
import { startTokenProxy } from '../../helpers/token-proxy.ts';
import { useTempDirs } from '../../helpers/temp.ts';

const USER = { username: 'ci', password: 's3cret-pass' };

function request(tag = '1.0.0'): PushRequest {
  const dir = inject('exampleOutputs');
  const file = (name: keyof typeof MEDIA_TYPES) => ({ name, mediaType: MEDIA_TYPES[name], path: join(dir, name) });
  return {
    name: 'pump',
    tag,
    files: [file('model.onnx'), file('metrics.json'), file('golden.json')],
    config: { model: 'pump', version: tag },
  };
}

/** What every ArtifactStore must do, run against each implementation. */
function storeContract(name: string, make: () => Promise<ArtifactStore>) {
  describe(name, () => {
    const tempDir = useTempDirs();

    it('pushes and pulls back the same bytes, pinned by digest', async () => {
      const store = await make();
      const pushed = await store.push(request());
      expect(pushed.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
      expect(pushed.reference.endsWith(`@${pushed.digest}`)).toBe(true);
      const destination = join(await tempDir(), 'pulled');
      const pulled = await store.pull(pushed.reference, destination);
      expect(pulled.digest).toBe(pushed.digest);
      expect(pulled.config).toEqual({ model: 'pump', version: '1.0.0' });
      expect(Object.keys(pulled.files).sort()).toEqual(['golden.json', 'metrics.json', 'model.onnx']);
      for (const [file, path] of Object.entries(pulled.files)) {
        expect((await readFile(path)).equals(await readFile(join(inject('exampleOutputs'), file)))).toBe(true);
      }
    });

    it('gives the same digest for the same content', async () => {
      const store = await make();
      expect((await store.push(request())).digest).toBe((await store.push(request())).digest);
    });

    it('never moves a version tag: the same model again gets the published artifact, another model is refused', async () => {
      const store = await make();
      const version = (model: string, trainedAt: string): PushRequest => ({
        ...request('5.0.0'),
        config: { model: 'pump', version: '5.0.0', modelSha256: model, trainedAt },
        immutable: { identity: 'modelSha256' },
      });
      const first = await store.push(version('a'.repeat(64), 'monday'));
      // Evaluated again (another trainedAt, so another config and digest), the same model: the published artifact.
      expect(await store.push(version('a'.repeat(64), 'tuesday'))).toEqual(first);
      await expect(store.push(version('b'.repeat(64), 'tuesday'))).rejects.toThrow(
        /pump:5\.0\.0 is already published as sha256:[a-f0-9]{64} with another model \(modelSha256 a{64}, this one b{64}\); a version tag never moves/,
      );
      // The tag still holds the first model: pushing it again is no conflict.
      expect(await store.push(version('a'.repeat(64), 'monday'))).toEqual(first);
      // Without `immutable`, a tag moves (report tags of a run are rewritten).
      expect((await store.push({ ...version('b'.repeat(64), 'x'), immutable: undefined })).digest).not.toBe(
        first.digest,
      );
    });

    it('fails to pull an unknown digest and leaves the destination empty', async () => {
      const store = await make();
      const pushed = await store.push(request());
      const missing = pushed.reference.replace(/sha256:[a-f0-9]+$/, `sha256:${'0'.repeat(64)}`);
      const destination = join(await tempDir(), 'pulled');
      await expect(store.pull(missing, destination)).rejects.toThrow(ArtifactError);
      await expect(readdir(destination)).rejects.toThrow(/ENOENT/);
    });
  });
}

storeContract('LayoutStore', async () => new LayoutStore(await useTempDirs()()));

describe('LayoutStore integrity', () => {
  const tempDir = useTempDirs();

  it('refuses a blob whose bytes no longer match its digest and writes nothing', async () => {
    const root = await tempDir();
    const store = new LayoutStore(root);
    const pushed = await store.push(request());
    const index = JSON.parse(await readFile(join(root, 'pump', 'blobs', 'sha256', pushed.digest.slice(7)), 'utf8')) as {
      layers: { digest: string }[];
    };
    const modelBlob = join(root, 'pump', 'blobs', 'sha256', index.layers[0]!.digest.slice(7));
    const bytes = await readFile(modelBlob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(modelBlob, bytes);
    const destination = join(await tempDir(), 'pulled');
    await expect(store.pull(pushed.reference, destination)).rejects.toThrow(/digest mismatch, expected sha256:/);
    await expect(readdir(destination)).rejects.toThrow(/ENOENT/);
  });

  it('resolves a tag through index.json', async () => {
    const root = await tempDir();
    const store = new LayoutStore(root);
    const pushed = await store.push(request('2.0.0'));
    expect((await store.pull(`oci-layout:${join(root, 'pump')}:2.0.0`, join(await tempDir(), 'p'))).digest).toBe(
      pushed.digest,
    );
  });
});

describe('RegistryStore against docker-registry', () => {
  let open: TestRegistry;
  let guarded: TestRegistry;
  beforeAll(async () => {
    [open, guarded] = await Promise.all([startRegistry(), startRegistry(USER)]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), guarded?.stop()]);
  });

  storeContract('without auth', async () => new RegistryStore(`${open.address}/models`));
  storeContract(
    'with htpasswd Basic auth',
    async () => new RegistryStore(`${guarded.address}/models`, { credentials: USER }),
  );

  it('is readable by plain distribution API clients', async () => {
    const pushed = await new RegistryStore(`${open.address}/models`).push(request('3.0.0'));
    const tags = (await (await fetch(`http://${open.address}/v2/models/pump/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toContain('3.0.0');
    const manifest = await fetch(`http://${open.address}/v2/models/pump/manifests/3.0.0`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(manifest.headers.get('docker-content-digest')).toBe(pushed.digest);
    expect(((await manifest.json()) as { artifactType: string }).artifactType).toBe(
      'application/vnd.edgeship.model.v1',
    );
  });

  it('says the registry refused a wrong password', async () => {
    const store = new RegistryStore(`${guarded.address}/models`, {
      credentials: { username: 'ci', password: 'wrong' },
    });
    await expect(store.push(request())).rejects.toThrow(/answered 401 .*the registry refused the credentials/);
  });

  it('says which variables to set when credentials are missing', async () => {
    await expect(new RegistryStore(`${guarded.address}/models`).push(request())).rejects.toThrow(
      /requires credentials; set EDGESHIP_REGISTRY_USERNAME and EDGESHIP_REGISTRY_PASSWORD/,
    );
  });

  it('says it cannot reach a registry that is not there', async () => {
    const store = new RegistryStore(`127.0.0.1:${await freePort()}/models`, { retries: 1 });
    await expect(store.push(request())).rejects.toThrow(/cannot reach the registry 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  });

  describe('behind a Bearer token service', () => {
    it('trades credentials for a token per scope, then pushes and pulls', async () => {
      const proxy = await startTokenProxy(open.address, USER);
      try {
        const store = new RegistryStore(`${proxy.address}/models`, { credentials: USER });
        const pushed = await store.push(request('4.0.0'));
        const pulled = await store.pull(pushed.reference, join(await useTempDirs()(), 'p'));
        expect(pulled.digest).toBe(pushed.digest);
        expect(proxy.scopes).toEqual(['repository:models/pump:pull,push', 'repository:models/pump:pull']);
        await expect(
          new RegistryStore(`${proxy.address}/models`, { credentials: { ...USER, password: 'nope' } }).push(request()),
        ).rejects.toThrow(/the token service of 127\.0\.0\.1:\d+ refused the credentials \(401\)/);
      } finally {
        await proxy.stop();
      }
    });
  });
});
