import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryInputOf } from '../../src/actions/action-io.ts';
import { actionModelRepo, errorAnnotations, runAction } from '../helpers/action-runner.ts';
import { startDyingProxy } from '../helpers/dying-proxy.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

const USER = { username: 'ci', password: 'registry-token' };

/**
 * The publish and report steps refusing: one evaluated report for all of them (each failure
 * must leave it as it was, which each test checks), so the suite evaluates once, not per case.
 */
describe('GitHub Actions steps that refuse', () => {
  let registry: TestRegistry;
  let root: string;
  let path: string;
  let before: string;
  beforeAll(async () => {
    registry = await startRegistry(USER);
    root = await mkdtemp(join(tmpdir(), 'edgeship-refusals-'));
    const evaluated = await runAction('evaluate', { repo: await actionModelRepo(join(root, 'model')) });
    path = evaluated.outputs.report!;
    before = await readFile(path, 'utf8');
  });
  afterAll(async () => {
    await registry?.stop();
    await rm(root, { recursive: true, force: true });
  });
  const tags = async () => {
    const response = await fetch(`http://${registry.address}/v2/models/pump-forecaster/tags/list`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}` },
    });
    return response.ok ? (((await response.json()) as { tags: string[] | null }).tags ?? []) : [];
  };

  describe('publish failures leave nothing half-published referenced', () => {
    it.each([
      [
        'a wrong token',
        () => ({ registry: `${registry.address}/models`, username: USER.username, token: 'wrong' }),
        'token',
        /refused the credentials/,
      ],
      [
        'a registry reference that is not valid',
        () => ({ registry: 'not a registry', token: USER.password }),
        'registry',
        /"not a registry\/pump-forecaster" is not a valid artifact reference/,
      ],
      [
        'a registry that is not there',
        () => ({ registry: '127.0.0.1:9/models', token: USER.password }),
        'registry',
        /cannot reach the registry 127\.0\.0\.1:9/,
      ],
    ])('%s', async (_case, inputs, input, message) => {
      const result = await runAction('publish', { report: path, username: USER.username, ...inputs() });
      expect(result.code).toBe(1);
      const [annotation] = errorAnnotations(result.stdout);
      expect(annotation?.title).toBe(`edgeship publish: input "${input}"`);
      expect(annotation?.message).toMatch(message);
      expect(await readFile(path, 'utf8')).toBe(before);
    });

    it('a registry that goes away mid-upload', async () => {
      const before_tags = await tags();
      const proxy = await startDyingProxy(registry.address, 1);
      try {
        const result = await runAction('publish', {
          report: path,
          registry: `${proxy.address}/fresh`,
          username: USER.username,
          token: USER.password,
        });
        expect(result.code).toBe(1);
        expect(errorAnnotations(result.stdout)[0]?.title).toBe('edgeship publish: input "registry"');
      } finally {
        await proxy.stop();
      }
      expect(await readFile(path, 'utf8')).toBe(before);
      expect(await tags()).toEqual(before_tags);
    });
  });

  it('report refuses a report that was never published, naming the input', async () => {
    const result = await runAction('report', { report: path, 'run-key': 'k' });
    expect(result.code).toBe(1);
    expect(errorAnnotations(result.stdout)).toEqual([
      {
        title: 'edgeship report: input "report"',
        message: expect.stringMatching(/has no published artifact; run the publish step before report$/) as string,
      },
    ]);
  });
});

describe('which input a publish failure is about', () => {
  it.each([
    ['127.0.0.1:40312 answered 503 to PUT /v2/models/fresh/blobs/uploads/x', 'registry'],
    ['cannot reach the registry 127.0.0.1:40301', 'registry'],
    ['127.0.0.1:5000 answered 401 to GET /v2/: the registry refused the credentials', 'token'],
    ['ghcr.io requires credentials; set EDGESHIP_REGISTRY_USERNAME and EDGESHIP_REGISTRY_PASSWORD', 'token'],
    ['the token service of ghcr.io refused the credentials (403)', 'token'],
  ] as const)('%s: %s', (message, inputName) => {
    expect(registryInputOf(message)).toBe(inputName);
  });
});
