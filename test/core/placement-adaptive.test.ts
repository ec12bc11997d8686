import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/core/commands.ts';
import { planPlacement } from '../../src/core/placement.ts';
import type { ProfileResult } from '../../src/core/profiling.ts';
import { profileResult, testConfig } from '../helpers/fixtures.ts';

const results = (xavier: number, cloud: number, memory = 30): ProfileResult[] => [
  profileResult('jetson-xavier-nx', xavier, memory),
  profileResult('jetson-orin-nano', 5, memory),
  profileResult('cloud-cpu', cloud, memory),
];

describe('the adaptive placement', () => {
  // near: 10 ms budget, 2 ms RTT to the cloud; adaptive when both paths fit.
  const config = testConfig();
  config.targets = config.targets.map((target) => (target.name === 'near' ? { ...target, adaptive: true } : target));
  const near = (xavier: number, cloud: number, deployed = {}, memory = 30) =>
    planPlacement(config, results(xavier, cloud, memory), new Map(), deployed).find(
      (decision) => decision.target === 'near',
    );

  it('is chosen for an adaptive target when the model fits here and the cloud fits too, naming both', () => {
    expect(near(5, 6)).toMatchObject({ choice: 'adaptive', offloadTo: 'cloud', p95Ms: 5 });
    expect(near(5, 6)?.reason).toBe(
      'fits on jetson-xavier-nx: p95 5.00 ms ≤ 10.0 ms, 30.0 MiB ≤ 100.0 MiB; cloud p95 6.00 ms + RTT 2.00 ms = 8.00 ms fits too: the site decides per request (adaptive)',
    );
    // Other targets keep the static placements unless they ask.
    expect(planPlacement(config, results(5, 6)).find((decision) => decision.target === 'far')?.choice).toBe('edge');
  });

  it('falls back to the static placement whose path alone fits', () => {
    expect(near(5, 9)).toMatchObject({ choice: 'edge' });
    expect(near(12, 6)).toMatchObject({ choice: 'offload' });
    expect(near(5, 6, {}, 150)).toMatchObject({ choice: 'offload' });
    expect(near(12, 9)).toMatchObject({ choice: 'blocked' });
  });

  it('holds a deployed adaptive placement by the margin on both paths', () => {
    const rounds = (p95Ms: number, low: number, high: number): ProfileResult['p95'] => ({
      p95Ms,
      lowMs: low,
      highMs: high,
      rounds: 5,
      spread: (high - low) / p95Ms,
      stable: true,
    });
    const straddling = [
      { ...profileResult('jetson-xavier-nx', 9.8), p95: rounds(9.8, 9, 11) },
      profileResult('jetson-orin-nano', 5),
      { ...profileResult('cloud-cpu', 7.8), p95: rounds(7.8, 7, 9) },
    ];
    const plan = (deployed: Record<string, 'adaptive' | 'edge'>) =>
      planPlacement(config, straddling, new Map(), deployed).find((decision) => decision.target === 'near');
    expect(plan({ near: 'adaptive' })).toMatchObject({ choice: 'adaptive' });
    expect(plan({ near: 'adaptive' })?.reason).toContain('(hysteresis)');
  });

  it('can be pinned by command', () => {
    expect(parseCommand('/edgeship pin plant-north adaptive')).toEqual({
      name: 'pin',
      target: 'plant-north',
      placement: 'adaptive',
    });
    expect(parseCommand('/edgeship pin plant-north sometimes')).toEqual({
      error: '`/edgeship pin plant-north sometimes`: expected `/edgeship pin <target> edge|offload|adaptive`.',
    });
  });
});
