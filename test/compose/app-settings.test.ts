import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appSettingsDoc, missingStartupSettings, parseAppSettings } from '../../src/compose/app-settings.ts';
import { ROOT } from '../helpers/fixtures.ts';

describe("the app's settings: one schema over its environment", () => {
  it('parses the environment once into one typed value, an empty variable counting as unset', () => {
    const settings = parseAppSettings({
      APP_ID: '123',
      WEBHOOK_SECRET: 'hook',
      PRIVATE_KEY_PATH: '/keys/app.pem',
      PORT: '8080',
      EDGESHIP_REGISTRY_PASSWORD: 'pw',
      EDGESHIP_ARGOCD_IN_CLUSTER: 'true',
      EDGESHIP_TRAINING_CONTEXT: '',
      EDGESHIP_PUBLIC_URL: 'https://edgeship.example',
      EDGESHIP_LEASE_NAME: 'edgeship-app',
      POD_NAME: 'edgeship-7f9c-abcde',
      POD_NAMESPACE: 'edgeship',
      POD_IP: '10.42.0.17',
      UNRELATED: 'ignored',
    });
    expect(settings).toMatchObject({
      appId: 123,
      port: 8080,
      registryCredentials: { username: 'edgeship', password: 'pw' },
      argocd: { inCluster: true, namespace: 'argocd' },
      training: { context: undefined, inCluster: false, publicUrl: 'https://edgeship.example' },
      lease: {
        name: 'edgeship-app',
        podName: 'edgeship-7f9c-abcde',
        namespace: 'edgeship',
        address: 'http://10.42.0.17:8080',
      },
    });
    expect(parseAppSettings({ POD_IP: 'fd00:42::17' }).lease.address).toBe('http://[fd00:42::17]:3000');
    expect(missingStartupSettings(settings)).toEqual([]);
    expect(parseAppSettings({}).port).toBe(3000);
    expect(missingStartupSettings(parseAppSettings({ APP_ID: '1' }))).toEqual([
      "WEBHOOK_SECRET (the secret set on the GitHub App's webhook; without it anyone could send events)",
      "PRIVATE_KEY or PRIVATE_KEY_PATH (the GitHub App's private key)",
    ]);
  });

  it('names every variable that is wrong, what it expected and what it found', () => {
    expect(() =>
      parseAppSettings({
        APP_ID: 'abc',
        PORT: '70000',
        EDGESHIP_ARGOCD_IN_CLUSTER: 'yes',
        EDGESHIP_PUBLIC_URL: 'edgeship.example',
        EDGESHIP_MAX_BLOB_BYTES: '-1',
        POD_IP: 'evil.example/x',
      }),
    ).toThrow(
      [
        "the app's environment is not valid:",
        '  - APP_ID: expected a whole number, found "abc"',
        '  - PORT: Too big: expected number to be <=65535, found "70000"',
        '  - EDGESHIP_MAX_BLOB_BYTES: expected a whole number, found "-1"',
        '  - EDGESHIP_ARGOCD_IN_CLUSTER: Invalid option: expected one of "true"|"false", found "yes"',
        '  - EDGESHIP_PUBLIC_URL: Invalid URL, found "edgeship.example"',
        '  - POD_IP: expected an IPv4 or IPv6 address, found "evil.example/x"',
      ].join('\n'),
    );
  });

  it('is listed in docs/app-settings.md as npm run schema writes it', async () => {
    expect(await readFile(join(ROOT, 'docs/app-settings.md'), 'utf8')).toBe(appSettingsDoc());
  });
});
