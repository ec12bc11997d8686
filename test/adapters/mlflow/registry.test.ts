import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIGEST_TAG, MlflowRegistry } from '../../../src/adapters/mlflow/registry.ts';
import { startMlflow } from '../../helpers/mlflow-server.ts';
import { freePort } from '../../helpers/registry.ts';

const DIGEST = `sha256:${'b'.repeat(64)}`;
const release = { model: 'pump-forecaster', version: '1.1.0', digest: DIGEST, source: `ghcr.io/acme/models/pump-forecaster@${DIGEST}`, tags: { 'metric.anomaly_f1': '0.689' } };

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
    expect(await registry.ensureVersion({ ...release, version: '1.2.0', digest: `sha256:${'c'.repeat(64)}` })).toBe('2');
    const [first] = mlflow.models.get('pump-forecaster')?.versions ?? [];
    expect(first).toMatchObject({ source: release.source, tags: [{ key: DIGEST_TAG, value: DIGEST }, { key: 'edgeship.version', value: '1.1.0' }, { key: 'metric.anomaly_f1', value: '0.689' }] });
    await registry.setAlias('pump-forecaster', 'production', '1');
    expect(mlflow.models.get('pump-forecaster')?.aliases.get('production')).toBe('1');
    expect(await registry.versionOf('pump-forecaster', `sha256:${'c'.repeat(64)}`)).toBe('2');
  });

  it('retries a server error, not a client error, and names what failed', async () => {
    const registry = new MlflowRegistry(mlflow.url);
    mlflow.state.failNext = 2;
    expect(await registry.ensureVersion(release)).toBe('1');
    await expect(registry.setAlias('pump-forecaster', 'production', '7')).rejects.toThrow('MLflow POST registered-models/alias: 404 RESOURCE_DOES_NOT_EXIST Model version 7 of pump-forecaster not found');
    expect(mlflow.calls.filter((call) => call.endsWith('registered-models/alias'))).toHaveLength(1);
  });

  it('says so when MLflow is unreachable', async () => {
    const registry = new MlflowRegistry(`http://127.0.0.1:${await freePort()}`);
    await expect(registry.ensureVersion(release)).rejects.toThrow(/^MLflow at http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/mlflow is unreachable/);
  });
});
