import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIGEST_TAG, MlflowRegistry, sourceUri, type MlflowError } from '../../../src/adapters/mlflow/registry.ts';
import { startMlflow } from '../../helpers/mlflow-server.ts';
import { freePort } from '../../helpers/registry.ts';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const release = {
  model: 'pump-forecaster',
  version: '1.1.0',
  digest: DIGEST,
  source: `ghcr.io/acme/models/pump-forecaster@${DIGEST}`,
  tags: { 'metric.anomaly_f1': '0.689' },
};

describe('MlflowRegistry against the MLflow 2.0 REST API', () => {
  let mlflow: Awaited<ReturnType<typeof startMlflow>>;
  beforeEach(async () => {
    mlflow = await startMlflow();
  });
  afterEach(() => mlflow.stop());

  it('registers a release once, found again by its digest, and moves an alias', async () => {
    const registry = new MlflowRegistry(mlflow.url, 'token');
    expect(await registry.ensureVersion(release)).toBe('1');
    expect(await registry.ensureVersion(release)).toBe('1');
    expect(await registry.ensureVersion({ ...release, version: '1.2.0', digest: `sha256:${'c'.repeat(64)}` })).toBe(
      '2',
    );
    const [first] = mlflow.models.get('pump-forecaster')?.versions ?? [];
    expect(first).toMatchObject({
      source: `oci://${release.source}`,
      tags: [
        { key: DIGEST_TAG, value: DIGEST },
        { key: 'edgeship.version', value: '1.1.0' },
        { key: 'metric.anomaly_f1', value: '0.689' },
      ],
    });
    await registry.setAlias('pump-forecaster', 'production', '1');
    expect(mlflow.models.get('pump-forecaster')?.aliases.get('production')).toBe('1');
    expect(await registry.versionOf('pump-forecaster', `sha256:${'c'.repeat(64)}`)).toBe('2');
  });

  it('registers a source MLflow accepts: the OCI reference as a URI, pinned by digest', async () => {
    // What MLflow (≥ 2.3) answers a reference without a scheme: a local path outside any run.
    await new MlflowRegistry(mlflow.url).ensureVersion({
      ...release,
      version: '0.9.0',
      digest: `sha256:${'d'.repeat(64)}`,
    });
    const bare = await fetch(`${mlflow.url}/api/2.0/mlflow/model-versions/create`, {
      method: 'POST',
      body: JSON.stringify({ name: 'pump-forecaster', source: release.source }),
    });
    expect(bare.status).toBe(400);
    expect(await bare.json()).toMatchObject({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringContaining('Invalid model version source') as string,
    });
    expect(sourceUri(release.source)).toBe(`oci://${release.source}`);
    expect(sourceUri(`127.0.0.1:5000/models/pump@${DIGEST}`)).toBe(`oci://127.0.0.1:5000/models/pump@${DIGEST}`);
    expect(sourceUri(`localhost:5000/models/pump@${DIGEST}`)).toBe(`oci://localhost:5000/models/pump@${DIGEST}`);
    expect(sourceUri(`oci://ghcr.io/acme/pump@${DIGEST}`)).toBe(`oci://ghcr.io/acme/pump@${DIGEST}`);
  });

  it('finds a release again among more versions than one search page holds', async () => {
    const registry = new MlflowRegistry(mlflow.url);
    await registry.ensureVersion(release);
    const model = mlflow.models.get('pump-forecaster');
    const version = (index: number) => ({
      name: 'pump-forecaster',
      version: String(index),
      source: 'oci://x',
      tags: [{ key: DIGEST_TAG, value: `sha256:${String(index).padStart(64, '0')}` }],
      creation_timestamp: 0,
      current_stage: 'None',
      status: 'READY',
    });
    model?.versions.splice(0, model.versions.length, ...Array.from({ length: 2500 }, (_, index) => version(index + 1)));
    expect(await registry.ensureVersion({ ...release, digest: `sha256:${String(2345).padStart(64, '0')}` })).toBe(
      '2345',
    );
    expect(model?.versions).toHaveLength(2500);
    expect(mlflow.calls.filter((call) => call.endsWith('model-versions/search')).length).toBeGreaterThanOrEqual(4);
  });

  it('retries a server error, not a client error, and names what failed', async () => {
    const registry = new MlflowRegistry(mlflow.url);
    mlflow.state.failNext = 2;
    expect(await registry.ensureVersion(release)).toBe('1');
    await expect(registry.setAlias('pump-forecaster', 'production', '7')).rejects.toThrow(
      'MLflow POST registered-models/alias: 404 RESOURCE_DOES_NOT_EXIST Model version 7 of pump-forecaster not found',
    );
    expect(mlflow.calls.filter((call) => call.endsWith('registered-models/alias'))).toHaveLength(1);
  });

  it('never lets its token out in an error, even when the server echoes it back', async () => {
    const echo = createServer((request, response) =>
      response.writeHead(401, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error_code: 'UNAUTHENTICATED',
          message: `bad credentials: ${request.headers.authorization}`,
        }),
      ),
    );
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    try {
      const registry = new MlflowRegistry(
        `http://127.0.0.1:${(echo.address() as AddressInfo).port}`,
        'mlflow-secret-token',
      );
      const error = await registry.ensureVersion(release).then(
        () => undefined,
        (caught: unknown) => caught as MlflowError,
      );
      expect(error?.message).toBe(
        'MLflow POST registered-models/create: 401 UNAUTHENTICATED bad credentials: Bearer ***',
      );
      expect(error?.code).toBe('UNAUTHENTICATED');
    } finally {
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });

  it('says so when MLflow is unreachable', async () => {
    const registry = new MlflowRegistry(`http://127.0.0.1:${await freePort()}`);
    await expect(registry.ensureVersion(release)).rejects.toThrow(
      /^MLflow at http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/mlflow is unreachable/,
    );
  });
});
