import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitRemoteRepo } from '../../src/adapters/git/gitops-repo.ts';
import { ArgoCdApplications } from '../../src/adapters/k8s/argocd.ts';
import { wavesOf } from '../../src/core/config.ts';
import { advanceRollout, startRollout } from '../../src/services/rollout.ts';
import { startArgoCd } from '../helpers/argocd-server.ts';
import { fleet } from '../helpers/fleet.ts';
import { gitopsRemote } from '../helpers/gitops-remote.ts';
import { useTempDirs } from '../helpers/temp.ts';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('a rollout across 10,000 sites', () => {
  const tempDir = useTempDirs();

  it('reads Argo CD with one list per tick, whatever the fleet size, and sends the waves by share', async () => {
    const root = await tempDir();
    const { config, report } = fleet(10_000, { waves: true });
    const { bare } = await gitopsRemote(root);
    let head = '';
    const argo = await startArgoCd(
      () => ({ sync: 'Synced', health: 'Healthy', revision: head, phase: 'Succeeded' }),
      config.targets.map((target) => `edgeship-${target.name}`),
    );
    try {
      const clock = { now: Date.parse('2026-11-29T12:00:00Z') };
      const deps = {
        gitops: new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'edgeship') }),
        log: silent,
        now: () => clock.now,
      };
      const started = await startRollout(deps, config, report);
      head = started.commit?.sha ?? '';
      const [canary, ten] = wavesOf(config);
      expect(started.commit?.files.length).toBeGreaterThan(canary?.targets.length ?? Infinity);
      expect(argo.requests).toEqual([]); // the first wave goes out without reading Argo CD
      const tick = async () => {
        const before = argo.requests.length;
        const result = await advanceRollout(
          { ...deps, fleet: new ArgoCdApplications(argo.kubeconfig) },
          config,
          report,
        );
        head = result.commit?.sha ?? head;
        return { calls: argo.requests.slice(before), action: result.action };
      };
      const list = ['GET /apis/argoproj.io/v1alpha1/namespaces/argocd/applications?labelSelector=edgeship.io%2Fsite'];
      // Synced and Healthy, but the canary has not soaked yet.
      expect(await tick()).toEqual({
        calls: list,
        action: expect.objectContaining({ kind: 'wait', wave: 'canary' }) as unknown,
      });
      clock.now += 11 * 60_000;
      const next = await tick();
      expect(next.calls).toEqual(list);
      expect(next.action).toMatchObject({ kind: 'apply-wave', wave: 'ten' });
      // 10% of the 10,001 targets labelled ring: main, counted with the canary's 1% before it.
      expect([canary?.targets.length, (ten?.targets.length ?? 0) + (canary?.targets.length ?? 0)]).toEqual([101, 1001]);
    } finally {
      await argo.stop();
    }
  });
});
