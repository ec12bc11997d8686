import { writeFile } from 'node:fs/promises';
import { parseAppSettings } from '../../src/compose/app-settings.ts';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fleetFrom } from '../../src/app/fleet.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { kubeconfigFor, startArgoCd } from '../helpers/argocd-server.ts';
import { useTempDirs } from '../helpers/temp.ts';

describe('Argo CD access from the environment', () => {
  const tempDir = useTempDirs();

  it('is off without settings: later waves then wait for /edgeship promote', () => {
    expect(fleetFrom(parseAppSettings({}).argocd)).toBeUndefined();
  });

  it('reads Applications through the kubeconfig and context it is given', async () => {
    const argo = await startArgoCd({ 'edgeship-near': [{ sync: 'Synced', health: 'Healthy' }] });
    try {
      const file = join(await tempDir(), 'kubeconfig');
      await writeFile(file, argo.kubeconfig.exportConfig());
      const fleetFor = fleetFrom(
        parseAppSettings({ EDGESHIP_ARGOCD_KUBECONFIG: file, EDGESHIP_ARGOCD_CONTEXT: 'test' }).argocd,
      );
      const states = await fleetFor?.(testConfig()).states(['near', 'far']);
      expect(states?.get('near')).toMatchObject({ sync: 'Synced', health: 'Healthy' });
      expect(states?.get('far')).toEqual({ sync: 'Unknown', health: 'Missing' });
    } finally {
      await argo.stop();
    }
  });

  it('names the setting that is wrong', async () => {
    const file = join(await tempDir(), 'kubeconfig');
    await writeFile(file, kubeconfigFor('http://127.0.0.1:1').exportConfig());
    expect(() =>
      fleetFrom(parseAppSettings({ EDGESHIP_ARGOCD_KUBECONFIG: file, EDGESHIP_ARGOCD_CONTEXT: 'prod' }).argocd),
    ).toThrow('EDGESHIP_ARGOCD_CONTEXT: expected a context of');
    expect(() => fleetFrom(parseAppSettings({ EDGESHIP_ARGOCD_KUBECONFIG: join(file, 'missing') }).argocd)).toThrow(
      /^EDGESHIP_ARGOCD_KUBECONFIG=.*missing: expected a readable kubeconfig, found: /,
    );
  });
});
