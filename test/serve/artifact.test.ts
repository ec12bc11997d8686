import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryStore } from '../../src/adapters/oci/registry-store.ts';
import { MEDIA_TYPES } from '../../src/core/artifact.ts';
import { loadModel } from '../../src/serve/model.ts';
import { credentialHostsOf } from '../../src/serve/options.ts';
import { startAttacker } from '../helpers/attacker.ts';
import { InferenceServer } from '../../src/serve/server.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { batch, silent } from './helpers.ts';

describe('edgeship serve from an OCI artifact', () => {
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  it('pulls the artifact by digest from a registry and serves it under its model name and version', async () => {
    const outputs = inject('exampleOutputs');
    const file = (name: 'model.onnx' | 'reference-stats.json') => ({
      name,
      mediaType: MEDIA_TYPES[name],
      path: join(outputs, name),
    });
    const pushed = await new RegistryStore(`${registry.address}/models`).push({
      name: 'pump-forecaster',
      tag: '1.2.0',
      files: [file('model.onnx'), file('reference-stats.json')],
      config: { model: 'pump-forecaster', version: '1.2.0' },
    });
    const model = await loadModel({ model: pushed.reference });
    expect(model).toMatchObject({
      name: 'pump-forecaster',
      version: '1.2.0',
      digest: pushed.digest,
      reference: { features: [{ name: 'temperature' }, { name: 'vibration' }, { name: 'current' }] },
    });
    const server = new InferenceServer({ model, log: silent });
    const port = await server.listen(0);
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/v2/models/pump-forecaster/versions/1.2.0/infer`, {
        method: 'POST',
        body: JSON.stringify(batch(2)),
      });
      expect(answer.status).toBe(200);
    } finally {
      await server.close();
    }
    const missing = pushed.reference.replace(/@sha256:[a-f0-9]{64}$/, `@sha256:${'0'.repeat(64)}`);
    await expect(loadModel({ model: missing })).rejects.toThrow(/sha256:0{64}/);
  });

  it("names the artifact's reference-stats.json when it is not reference statistics, and serves a model file without one", async () => {
    const outputs = inject('exampleOutputs');
    const scratch = await mkdtemp(join(tmpdir(), 'edgeship-bad-stats-'));
    try {
      await writeFile(join(scratch, 'reference-stats.json'), '{"count": ');
      const pushed = await new RegistryStore(`${registry.address}/models`).push({
        name: 'pump-forecaster',
        tag: '1.2.1',
        files: [
          { name: 'model.onnx', mediaType: MEDIA_TYPES['model.onnx'], path: join(outputs, 'model.onnx') },
          {
            name: 'reference-stats.json',
            mediaType: MEDIA_TYPES['reference-stats.json'],
            path: join(scratch, 'reference-stats.json'),
          },
        ],
        config: { model: 'pump-forecaster', version: '1.2.1' },
      });
      await expect(loadModel({ model: pushed.reference })).rejects.toThrow(
        /reference-stats\.json: expected JSON reference statistics, found text that does not parse/,
      );
      await copyFile(join(outputs, 'model.onnx'), join(scratch, 'model.onnx'));
      await rm(join(scratch, 'reference-stats.json'));
      const model = await loadModel({ model: join(scratch, 'model.onnx') });
      expect(model.reference).toBeUndefined();
      await model.worker.close();
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('sends its registry credentials only to the registries it started with or its environment names, not to one a load names', async () => {
    // A registry that asks for Basic credentials, as a real one does, and records what it gets.
    const attacker = await startAttacker(
      (_request, response) => void response.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end(),
    );
    const credentials = { username: 'edge', password: 'edge-registry-secret' };
    try {
      const evil = `${attacker.host}/evil/model@sha256:${'e'.repeat(64)}`;
      const started = credentialHostsOf(
        [`${registry.address}/models/pump@sha256:${'a'.repeat(64)}`, '/models/model.onnx', undefined],
        { EDGESHIP_REGISTRY_HOSTS: 'mirror.example, ' },
      );
      expect(started).toEqual([registry.address, 'mirror.example']);
      await expect(loadModel({ model: evil, credentialHosts: started, credentials })).rejects.toThrow();
      expect(attacker.seen.length).toBeGreaterThan(0);
      expect(attacker.credentials()).toEqual([]);
      // The same load to a registry the environment names does send them: the check above can fail.
      await expect(
        loadModel({ model: evil, credentialHosts: [...started, attacker.host], credentials }),
      ).rejects.toThrow();
      expect(attacker.credentials()).toContain(`Basic ${Buffer.from('edge:edge-registry-secret').toString('base64')}`);
    } finally {
      await attacker.stop();
    }
  });
});
