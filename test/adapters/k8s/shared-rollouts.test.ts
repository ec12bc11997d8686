import { afterEach, describe, expect, it } from 'vitest';
import { ConfigMapRollouts } from '../../../src/adapters/k8s/shared-rollouts.ts';
import { ActiveRollouts } from '../../../src/app/active-rollouts.ts';
import { SILENT } from '../../../src/ports.ts';
import type { RolloutResult } from '../../../src/services/rollout.ts';
import { startLeaseApi } from '../../helpers/lease-server.ts';

const sha = (char: string) => char.repeat(40);
const rollout = (repo: string, number = 1) => ({
  installation: 42,
  repo: { owner: 'acme', repo },
  pull: { number, headRef: `edgeship/release/${repo}`, headSha: sha('a'), base: 'main', mergeSha: sha('b') },
});
const step = (status: 'rolling-out' | 'done'): RolloutResult => ({
  action: status === 'done' ? { kind: 'done', skipped: [] } : { kind: 'wait', wave: 'canary', reason: 'soaking' },
  status,
  statuses: [],
  pinned: [],
  holds: [],
  versions: {},
  sent: ['canary'],
});

describe('rollouts the replicas share in a ConfigMap', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  const api = async () => {
    const server = await startLeaseApi();
    stops.push(server.stop);
    return server;
  };

  it("records, lists and forgets a repo's rollout, writing only what changed", async () => {
    const server = await api();
    const store = new ConfigMapRollouts(server.kubeconfig(), 'edgeship');
    expect(await store.list()).toEqual([]);
    await store.put(rollout('pump-model'));
    await store.put(rollout('pump-model'));
    expect(await store.list()).toEqual([rollout('pump-model')]);
    expect(server.configMapWrites).toEqual([]);
    // A newer release of the repo replaces it; forgetting an older one leaves the newer.
    await store.put(rollout('pump-model', 2));
    await store.remove({ owner: 'acme', repo: 'pump-model' }, 1);
    expect(await store.list()).toEqual([rollout('pump-model', 2)]);
    await store.remove({ owner: 'acme', repo: 'pump-model' }, 2);
    expect(await store.list()).toEqual([]);
  });

  it('keeps every rollout when replicas record theirs at once (a write another beat tries again)', async () => {
    const server = await api();
    const replicas = Array.from({ length: 4 }, () => new ConfigMapRollouts(server.kubeconfig(), 'edgeship'));
    await Promise.all(
      Array.from({ length: 20 }, async (_, index) => replicas[index % 4]?.put(rollout(`model-${index}`))),
    );
    expect((await replicas[0]?.list())?.map((entry) => entry.repo.repo).sort()).toEqual(
      Array.from({ length: 20 }, (_, index) => `model-${index}`).sort(),
    );
  });

  it('never acts on a value that is not a rollout', async () => {
    const server = await api();
    const store = new ConfigMapRollouts(server.kubeconfig(), 'edgeship');
    await store.put(rollout('pump-model'));
    const map = server.configMap('edgeship', 'edgeship-rollouts');
    const [key] = Object.keys(map?.data ?? {});
    if (map?.data && key)
      map.data[key] = JSON.stringify({ ...rollout('pump-model'), repo: { owner: '../evil', repo: 'x' } });
    expect(await store.list()).toEqual([]);
  });

  it('lets the leader step a rollout a follower started, and forget it once it is done', async () => {
    const server = await api();
    const follower = new ActiveRollouts({ store: new ConfigMapRollouts(server.kubeconfig(), 'edgeship'), log: SILENT });
    const leader = new ActiveRollouts({ store: new ConfigMapRollouts(server.kubeconfig(), 'edgeship'), log: SILENT });
    const { installation, repo, pull } = rollout('pump-model');
    follower.update(installation, repo, pull, step('rolling-out'));
    await expect.poll(async () => (await leader.adopt(), leader.list())).toEqual([rollout('pump-model')]);
    leader.update(installation, repo, pull, step('done'));
    await expect.poll(() => new ConfigMapRollouts(server.kubeconfig(), 'edgeship').list()).toEqual([]);
    expect(leader.list()).toEqual([]);
  });
});
