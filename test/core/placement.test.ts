import { describe, expect, it } from 'vitest';
import { profilingNeeds } from '../../src/core/config.ts';
import { planPlacement, type LiveCapacity } from '../../src/core/placement.ts';
import type { ProfileResult } from '../../src/core/profiling.ts';
import { profileResult, testConfig } from '../helpers/fixtures.ts';

const results = (xavier: number, orin: number, cloud: number, memory = 30): ProfileResult[] => [
  profileResult('jetson-xavier-nx', xavier, memory),
  profileResult('jetson-orin-nano', orin, memory),
  profileResult('cloud-cpu', cloud, memory),
];

describe('planPlacement', () => {
  const config = testConfig();

  it('places on the edge when latency and memory fit', () => {
    const [near, far, cloud] = planPlacement(config, results(5, 5, 5));
    expect(near).toMatchObject({ target: 'near', choice: 'edge', p95Ms: 5 });
    expect(near?.reason).toBe('fits on jetson-xavier-nx: p95 5.00 ms ≤ 10.0 ms, 30.0 MiB ≤ 100.0 MiB');
    expect(far?.choice).toBe('edge');
    expect(cloud).toMatchObject({ choice: 'cloud', reason: 'p95 5.00 ms on cloud-cpu fits the 20.0 ms budget' });
  });

  it('offloads when the edge is too slow and cloud p95 + RTT fits', () => {
    const [near] = planPlacement(config, results(12, 5, 6));
    expect(near).toMatchObject({ choice: 'offload', offloadTo: 'cloud', p95Ms: 8 });
    expect(near?.reason).toBe(
      "at near, the model's p95 12.0 ms on jetson-xavier-nx exceeds the 10.0 ms budget; offloading fits: cloud p95 6.00 ms + RTT 2.00 ms = 8.00 ms ≤ 10.0 ms",
    );
  });

  it('offloads when the model does not fit in memory', () => {
    const [near] = planPlacement(config, results(5, 5, 5, 150));
    expect(near).toMatchObject({ choice: 'offload' });
    expect(near?.reason).toMatch(/needs 150\.0 MiB, over the 100\.0 MiB memory budget/);
  });

  it('offloads when the model exceeds the memory ceiling of the device, whatever the budget says', () => {
    const small = results(5, 5, 5).map((result) => ({ ...result, memoryCeilingMb: 20 }));
    const [near] = planPlacement(config, small);
    expect(near).toMatchObject({ choice: 'offload' });
    expect(near?.reason).toMatch(/the model needs 30\.0 MiB, over the 20\.0 MiB a jetson-xavier-nx has for it/);
  });

  it('blocks when neither the edge nor offloading fits, with both reasons', () => {
    const [, far] = planPlacement(config, results(5, 60, 5));
    expect(far?.choice).toBe('blocked');
    expect(far?.reason).toMatch(
      /exceeds the 50\.0 ms budget; offloading does not fit either: cloud p95 5\.00 ms \+ RTT 80\.0 ms = 85\.0 ms exceeds the 50\.0 ms budget$/,
    );
  });

  it('blocks a cloud target over its budget', () => {
    expect(planPlacement(config, results(5, 5, 25))[2]?.choice).toBe('blocked');
  });

  it('blocks an edge site with nowhere to offload to', () => {
    const edgeOnly = { ...config, targets: config.targets.filter((target) => target.kind === 'edge') };
    expect(planPlacement(edgeOnly, results(50, 5, 1))[0]).toMatchObject({
      choice: 'blocked',
      reason: expect.stringMatching(/no cloud target to offload to/) as string,
    });
  });

  it('offloads to the cloud target the site names', () => {
    const second = {
      name: 'cloud-2',
      kind: 'cloud' as const,
      profile: 'jetson-orin-nano',
      latencyBudgetMs: 20,
      rttMs: 0,
    };
    const targets = [{ ...config.targets[0]!, offloadTo: 'cloud-2' }, config.targets[2]!, second];
    const [near] = planPlacement({ ...config, targets }, results(50, 1, 5));
    expect(near).toMatchObject({ choice: 'offload', offloadTo: 'cloud-2', p95Ms: 3 });
  });
});

describe("latency per request at each target's batch", () => {
  // near serves batches of 8 rows; the others one row per request.
  const config = {
    ...testConfig(),
    targets: testConfig().targets.map((target) => (target.name === 'near' ? { ...target, batch: 8 } : target)),
  };
  const at = (result: ProfileResult, batch: number) => ({ ...result, batch });

  it("profiles each target at its batch, and the cloud a site offloads to at the site's batch too", () => {
    expect(profilingNeeds(config)).toEqual([
      { profile: 'jetson-xavier-nx', batch: 8 },
      { profile: 'jetson-orin-nano', batch: 1 },
      { profile: 'cloud-cpu', batch: 1 },
      { profile: 'cloud-cpu', batch: 8 },
    ]);
    expect(profilingNeeds(testConfig())).toHaveLength(3);
  });

  it("places on the numbers measured at the target's batch", () => {
    // At batch 1 everything fits; at 8 rows the Xavier NX takes 12 ms and the cloud 6 ms.
    const measured = [
      ...results(5, 5, 5),
      at(profileResult('jetson-xavier-nx', 12), 8),
      at(profileResult('cloud-cpu', 6), 8),
    ];
    const [near, far, cloud] = planPlacement(config, measured);
    expect(near).toMatchObject({
      choice: 'offload',
      batch: 8,
      p95Ms: 8,
      reason: expect.stringContaining('offloading fits: cloud p95 6.00 ms + RTT 2.00 ms = 8.00 ms ≤ 10.0 ms') as string,
    });
    expect(far).toMatchObject({ choice: 'edge', batch: 1 });
    expect(cloud).toMatchObject({ choice: 'cloud', batch: 1, p95Ms: 5 });
    expect(() => planPlacement(config, results(5, 5, 5))).toThrow(
      'No profile result for "jetson-xavier-nx" at batch 8 (target near)',
    );
  });
});

describe('planPlacement on live cluster capacity', () => {
  const config = testConfig();
  const cluster = (freeMemoryMb: number, arches = ['arm64']): LiveCapacity => ({
    source: 'cluster',
    nodes: 2,
    freeMemoryMb,
    arches,
    accelerators: ['nvidia.com/gpu×1'],
  });

  it.each<[string, LiveCapacity, string, string]>([
    [
      'keeps the budget when the cluster has more room',
      cluster(900),
      'edge',
      'fits on jetson-xavier-nx: p95 5.00 ms ≤ 10.0 ms, 30.0 MiB ≤ 100.0 MiB',
    ],
    [
      'offloads when the cluster has less free memory than the budget',
      cluster(20),
      'offload',
      'at near, the model needs 30.0 MiB, over the 20.0 MiB free on the cluster; offloading fits: cloud p95 5.00 ms + RTT 2.00 ms = 7.00 ms ≤ 10.0 ms',
    ],
    [
      'offloads when the cluster has no node the edge base runs on',
      cluster(900, ['amd64']),
      'offload',
      'at near, the cluster has no arm64 node (found amd64); offloading fits: cloud p95 5.00 ms + RTT 2.00 ms = 7.00 ms ≤ 10.0 ms',
    ],
    [
      'falls back to the inventory when the cluster does not answer',
      { source: 'inventory', reason: 'cluster near did not answer: connect ECONNREFUSED' },
      'edge',
      'fits on jetson-xavier-nx: p95 5.00 ms ≤ 10.0 ms, 30.0 MiB ≤ 100.0 MiB',
    ],
  ])('%s', (_case, live, choice, reason) => {
    const [near] = planPlacement(config, results(5, 5, 5), new Map([['near', live]]));
    expect(near).toMatchObject({ choice, reason });
  });

  it('says where the numbers came from', () => {
    const [near, far] = planPlacement(
      config,
      results(5, 5, 5),
      new Map<string, LiveCapacity>([
        ['near', cluster(64)],
        ['far', { source: 'inventory', reason: 'no kubeconfig context "far"' }],
      ]),
    );
    expect(near).toMatchObject({
      memoryBudgetMb: 64,
      capacity: 'cluster: 2 nodes, 64.0 MiB free on the roomiest, arm64, nvidia.com/gpu×1',
    });
    expect(far?.capacity).toBe('inventory (no kubeconfig context "far")');
  });
});
