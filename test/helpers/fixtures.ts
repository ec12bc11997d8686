import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { EdgeshipConfig } from '../../src/core/config.ts';
import type { ProfileResult } from '../../src/core/profiling.ts';
import { summarize } from '../../src/core/stats.ts';

export const ROOT = new URL('../../', import.meta.url).pathname;

/** A copy of the trained example outputs that a test may change. */
export async function copyExampleOutputs(directory: string): Promise<string> {
  const target = join(directory, 'out');
  await cp(inject('exampleOutputs'), target, { recursive: true });
  return target;
}

/** A small config: two edge sites and a cloud target. */
export function testConfig(overrides = ''): EdgeshipConfig {
  return parseConfig(
    `model: demo
train: { command: "true" }
metrics: { primary: f1, direction: maximize }
gates:
  thresholds: { f1: { min: 0.5 } }
targets:
  - { name: near, kind: edge, profile: jetson-xavier-nx, memoryBudgetMb: 100, latencyBudgetMs: 10, rttMs: 2 }
  - { name: far, kind: edge, profile: jetson-orin-nano, memoryBudgetMb: 100, latencyBudgetMs: 50, rttMs: 80 }
  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 20 }
gitops: { repo: ../gitops }
${overrides}`,
    'test.yml',
  );
}

/** A profile result with the given estimated p95 and peak memory. */
export function profileResult(profile: string, p95Ms: number, peakMemoryMb = 30): ProfileResult {
  const summary = summarize([p95Ms * 0.8, p95Ms * 0.9, p95Ms]);
  return {
    profile,
    source: 'emulated',
    threads: 2,
    speedFactor: 1,
    batch: 1,
    sessionCreateMs: 5,
    firstInferenceMs: 1,
    measured: summary,
    estimated: { ...summary, p95Ms, p99Ms: p95Ms * 1.1, maxMs: p95Ms * 1.2 },
    peakMemoryMb,
    memoryCeilingMb: 1024,
  };
}

/** How long expect.poll waits for asynchronous work (a watch, a queued look) on a loaded machine. */
export const WAIT = { timeout: 10_000 };

/**
 * Profile results as the devices would measure them (edgeship profile --on-device --out), one
 * file per profile in `directory`: what tests pass to evaluate, so no verdict depends on how
 * fast this machine is today.
 */
export async function writeMeasured(
  directory: string,
  profiles: string[],
  options: { p95Ms?: number; batch: number },
): Promise<string> {
  await mkdir(directory, { recursive: true });
  for (const profile of profiles)
    await writeFile(
      join(directory, `${profile}.json`),
      JSON.stringify({ ...profileResult(profile, options.p95Ms ?? 2), batch: options.batch, source: 'device' }),
    );
  return directory;
}

/**
 * The example config for tests of a flow (train, evaluate, publish, call back): latency budgets no
 * machine misses (a minute), so no verdict depends on how busy this machine is, and 30 profiling
 * runs at batch 8, since these tests check the flow and the profiler has tests of its own.
 */
export const flowConfig = (config: string) =>
  config
    .replace(/latencyBudgetMs: \d+/g, 'latencyBudgetMs: 60000')
    .replace(/^ {2}runs: \d+/m, '  runs: 30')
    .replace(/^ {2}batch: \d+.*$/m, '  batch: 8');
