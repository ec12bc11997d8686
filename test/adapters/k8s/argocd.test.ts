import { describe, expect, it } from 'vitest';
import { ArgoCdApplications } from '../../../src/adapters/k8s/argocd.ts';
import { planRollout } from '../../../src/core/rollout.ts';
import { kubeconfigFor, startArgoCd } from '../../helpers/argocd-server.ts';
import { freePort } from '../../helpers/registry.ts';

const SOAKED = '2026-11-26T10:00:00Z';
const NOW = Date.parse('2026-11-26T12:00:00Z');
const waves = [
  { name: 'canary', targets: ['north'], soakMinutes: 15 },
  { name: 'plants', targets: ['south'], soakMinutes: 0 },
];
const versions = new Map([['north', '1.1.0'], ['south', '1.0.0']]);

describe('ArgoCdApplications', () => {
  it('follows an Application from Progressing to Healthy, and the rollout from waiting to the next wave', async () => {
    const argo = await startArgoCd({
      'edgeship-north': [
        { sync: 'OutOfSync', health: 'Progressing', phase: 'Running' },
        { sync: 'Synced', health: 'Healthy', phase: 'Succeeded', healthySince: SOAKED },
      ],
      'edgeship-south': [{ sync: 'Synced', health: 'Healthy', phase: 'Succeeded', healthySince: SOAKED }],
    });
    try {
      const fleet = new ArgoCdApplications(argo.kubeconfig);
      const first = await fleet.states(['north', 'south'], versions);
      expect(first.get('north')).toEqual({ target: 'north', version: '1.1.0', sync: 'OutOfSync', health: 'Progressing' });
      expect(planRollout({ waves, version: '1.1.0', previous: '1.0.0', states: first, now: NOW })).toEqual({ kind: 'wait', wave: 'canary', reason: 'north OutOfSync/Progressing' });
      const second = await fleet.states(['north', 'south'], versions);
      expect(second.get('north')).toEqual({ target: 'north', version: '1.1.0', sync: 'Synced', health: 'Healthy', healthySince: Date.parse(SOAKED) });
      expect(planRollout({ waves, version: '1.1.0', previous: '1.0.0', states: second, now: NOW })).toEqual({ kind: 'apply-wave', wave: 'plants', targets: ['south'] });
    } finally {
      await argo.stop();
    }
  });

  it('turns Degraded and a failed sync into a rollback', async () => {
    const argo = await startArgoCd({
      'edgeship-north': [{ sync: 'Synced', health: 'Degraded', phase: 'Succeeded' }],
      'edgeship-south': [{ sync: 'OutOfSync', health: 'Healthy', phase: 'Failed' }],
    });
    try {
      const states = await new ArgoCdApplications(argo.kubeconfig).states(['north', 'south'], new Map([['north', '1.1.0'], ['south', '1.1.0']]));
      expect(states.get('south')).toMatchObject({ syncFailed: true });
      expect(planRollout({ waves, version: '1.1.0', previous: '1.0.0', states, now: NOW })).toEqual({ kind: 'rollback', wave: 'canary', targets: ['north'], to: '1.0.0', reason: 'north is Degraded' });
    } finally {
      await argo.stop();
    }
  });

  it('reports a target without an Application as Missing', async () => {
    const argo = await startArgoCd({});
    try {
      const states = await new ArgoCdApplications(argo.kubeconfig).states(['north'], versions);
      expect(states.get('north')).toEqual({ target: 'north', version: '1.1.0', sync: 'Unknown', health: 'Missing' });
    } finally {
      await argo.stop();
    }
  });

  it('leaves targets Unknown, not failed, when the cluster does not answer', async () => {
    const kubeconfig = kubeconfigFor(`http://127.0.0.1:${await freePort()}`);
    const states = await new ArgoCdApplications(kubeconfig).states(['north'], versions);
    expect(states.get('north')).toEqual({ target: 'north', version: '1.1.0', sync: 'Unknown', health: 'Unknown' });
    expect(planRollout({ waves, version: '1.1.0', previous: '1.0.0', states, now: NOW })).toEqual({ kind: 'wait', wave: 'canary', reason: 'north Unknown/Unknown' });
  });
});
