import { describe, expect, it } from 'vitest';
import { ArgoCdApplications } from '../../../src/adapters/k8s/argocd.ts';
import { kubeconfigFor, startArgoCd } from '../../helpers/argocd-server.ts';
import { freePort } from '../../helpers/registry.ts';

const HEALTHY_AT = '2026-11-26T10:00:00Z';
const SYNCED_AT = '2026-11-26T10:30:00Z';

describe('ArgoCdApplications', () => {
  it('follows an Application from Progressing to Healthy, with the synced revision', async () => {
    const argo = await startArgoCd({
      'edgeship-north': [
        { sync: 'OutOfSync', health: 'Progressing', phase: 'Running', revision: 'c0ffee1' },
        { sync: 'Synced', health: 'Healthy', phase: 'Succeeded', healthySince: HEALTHY_AT, revision: 'c0ffee2' },
      ],
    });
    try {
      const fleet = new ArgoCdApplications(argo.kubeconfig);
      expect((await fleet.states(['north'])).get('north')).toEqual({
        sync: 'OutOfSync',
        health: 'Progressing',
        revision: 'c0ffee1',
      });
      expect((await fleet.states(['north'])).get('north')).toEqual({
        sync: 'Synced',
        health: 'Healthy',
        revision: 'c0ffee2',
        healthySince: Date.parse(HEALTHY_AT),
      });
    } finally {
      await argo.stop();
    }
  });

  it('counts Healthy from the last sync when it stayed Healthy through it', async () => {
    const argo = await startArgoCd({
      'edgeship-north': [
        { sync: 'Synced', health: 'Healthy', phase: 'Succeeded', healthySince: HEALTHY_AT, finishedAt: SYNCED_AT },
      ],
    });
    try {
      expect((await new ArgoCdApplications(argo.kubeconfig).states(['north'])).get('north')).toMatchObject({
        healthySince: Date.parse(SYNCED_AT),
      });
    } finally {
      await argo.stop();
    }
  });

  it('reads Degraded and a failed sync', async () => {
    const argo = await startArgoCd({
      'edgeship-north': [{ sync: 'Synced', health: 'Degraded', phase: 'Succeeded' }],
      'edgeship-south': [{ sync: 'OutOfSync', health: 'Healthy', phase: 'Failed' }],
    });
    try {
      const states = await new ArgoCdApplications(argo.kubeconfig).states(['north', 'south']);
      expect(states.get('north')).toMatchObject({ sync: 'Synced', health: 'Degraded' });
      expect(states.get('north')).not.toHaveProperty('syncFailed');
      expect(states.get('south')).toMatchObject({ sync: 'OutOfSync', syncFailed: true });
    } finally {
      await argo.stop();
    }
  });

  it('reads a fleet of 10,000 Applications with one list, not a request per target', async () => {
    const names = Array.from({ length: 10_000 }, (_, index) => `site-${index}`);
    const argo = await startArgoCd(
      (name) => ({ sync: 'Synced', health: name.endsWith('-7') ? 'Degraded' : 'Healthy', revision: 'c0ffee1' }),
      names.map((name) => `edgeship-${name}`),
    );
    try {
      const states = await new ArgoCdApplications(argo.kubeconfig).states([...names, 'gone']);
      expect(states.size).toBe(10_001);
      expect(states.get('site-7')).toMatchObject({ health: 'Degraded' });
      expect(states.get('site-9999')).toMatchObject({ sync: 'Synced', health: 'Healthy' });
      expect(states.get('gone')).toEqual({ sync: 'Unknown', health: 'Missing' });
      expect(argo.requests).toEqual([
        'GET /apis/argoproj.io/v1alpha1/namespaces/argocd/applications?labelSelector=edgeship.io%2Fsite',
      ]);
    } finally {
      await argo.stop();
    }
  });

  it("follows the API server's pages when it pages a list", async () => {
    const argo = await startArgoCd(
      {
        'edgeship-north': [{ sync: 'Synced', health: 'Healthy' }],
        'edgeship-south': [{ sync: 'Synced', health: 'Degraded' }],
      },
      [],
      { pageSize: 1 },
    );
    try {
      const states = await new ArgoCdApplications(argo.kubeconfig).states(['north', 'south']);
      expect(states.get('south')).toMatchObject({ health: 'Degraded' });
      expect(argo.requests).toHaveLength(2);
    } finally {
      await argo.stop();
    }
  });

  it('reports a target without an Application as Missing', async () => {
    const argo = await startArgoCd({});
    try {
      expect((await new ArgoCdApplications(argo.kubeconfig).states(['north'])).get('north')).toEqual({
        sync: 'Unknown',
        health: 'Missing',
      });
    } finally {
      await argo.stop();
    }
  });

  it('leaves targets Unknown, not failed, when the cluster does not answer', async () => {
    const kubeconfig = kubeconfigFor(`http://127.0.0.1:${await freePort()}`);
    expect((await new ArgoCdApplications(kubeconfig).states(['north'])).get('north')).toEqual({
      sync: 'Unknown',
      health: 'Unknown',
    });
  });
});
