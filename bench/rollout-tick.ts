/**
 * Kubernetes API calls per rollout tick: a release rolled out in waves (1%, 10%, all) across a
 * fleet, with Argo CD as a loopback API server that serves each site's Application (Synced at the
 * GitOps head, Healthy). Each tick of advanceRollout, as the app's rollout timer runs it, should
 * read the fleet with one list, whatever its size.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitRemoteRepo } from '../src/adapters/git/gitops-repo.ts';
import { ArgoCdApplications } from '../src/adapters/k8s/argocd.ts';
import { advanceRollout, startRollout } from '../src/services/rollout.ts';
import { startArgoCd } from '../test/helpers/argocd-server.ts';
import { fleet } from '../test/helpers/fleet.ts';
import { gitopsRemote } from '../test/helpers/gitops-remote.ts';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export async function rolloutTickBench(size: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'edgeship-bench-tick-'));
  const { config, report } = fleet(size, { waves: true });
  let head = '';
  const argo = await startArgoCd(
    () => ({ sync: 'Synced', health: 'Healthy', revision: head, phase: 'Succeeded' }),
    config.targets.map((target) => `edgeship-${target.name}`),
  );
  try {
    const { bare } = await gitopsRemote(root);
    const clock = { now: Date.parse('2026-11-29T12:00:00Z') };
    const deps = {
      gitops: new GitRemoteRepo({ remote: bare, branch: 'main', workdir: join(root, 'work') }),
      log: silent,
      now: () => clock.now,
    };
    const started = await startRollout(deps, config, report);
    head = started.commit?.sha ?? head;
    const ticks: string[] = [];
    for (let tick = 1; tick <= 4; tick += 1) {
      const before = argo.requests.length;
      const begun = performance.now();
      const result = await advanceRollout({ ...deps, fleet: new ArgoCdApplications(argo.kubeconfig) }, config, report);
      const ms = performance.now() - begun;
      head = result.commit?.sha ?? head;
      const action =
        result.action.kind === 'apply-wave'
          ? `sent wave ${result.action.wave} (${result.action.targets.length} targets)`
          : result.action.kind;
      ticks.push(
        `tick ${tick}: ${argo.requests.length - before} call${argo.requests.length - before === 1 ? '' : 's'}, ${ms.toFixed(0)} ms, ${action}`,
      );
      clock.now += 11 * 60_000; // past the wave's soak
    }
    console.log(
      `\nRollout ticks across ${size + 1} targets in waves of 1%, 10% and all, Argo CD on loopback: Kubernetes API calls per tick (aim: constant) — ${ticks.join('; ')}`,
    );
  } finally {
    await argo.stop();
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 });
  }
}
