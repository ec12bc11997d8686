/**
 * Placement stability with real measurements on a busy machine: the example model is profiled
 * once on a quiet machine (the deployed release's placement, and a budget set at 1.5× its p95,
 * where timing noise decides if anything does), then evaluated 10 times while `stress-ng` keeps
 * every core busy. Each time the placement is planned twice on the same measurements: as
 * edgeship plans it (p95 of rounds with an interval, hysteresis against what is deployed) and,
 * as the baseline, the way it was planned before (one pooled p95 against the budget). Prints the
 * distinct placements each way (aim: 1 for edgeship).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { OnnxProfiler } from '../src/adapters/onnx/profiler.ts';
import type { EdgeshipConfig } from '../src/core/config.ts';
import { parseConfig } from '../src/core/config-parse.ts';
import { planPlacement, type PlacementChoice } from '../src/core/placement.ts';
import { resolveProfile } from '../src/core/profiles.ts';
import type { ProfileResult } from '../src/core/profiling.ts';
import { benchModels } from './models.ts';
import { sized } from './mode.ts';

const EVALUATIONS = sized(10, 2);
const OPTIONS = { runs: sized(300, 30), warmup: sized(20, 2), batch: 1, rounds: sized(5, 2), tolerance: 0.5 };

async function measure(file: string, config: EdgeshipConfig): Promise<ProfileResult[]> {
  const profiler = new OnnxProfiler();
  const results: ProfileResult[] = [];
  for (const name of ['jetson-xavier-nx', 'cloud-cpu'])
    results.push(await profiler.profile(file, name, resolveProfile(name, config.profiles), OPTIONS));
  return results;
}

const configFor = (edgeBudgetMs: number, rttMs: number, cloudBudgetMs: number) =>
  parseConfig(
    `model: pump\ntrain: { command: "true" }\nmetrics: { primary: f1, direction: maximize }\ntargets:\n` +
      `  - { name: near, kind: edge, profile: jetson-xavier-nx, memoryBudgetMb: 512, latencyBudgetMs: ${edgeBudgetMs}, rttMs: ${rttMs} }\n` +
      `  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: ${cloudBudgetMs} }\ngitops: { repo: x }\n`,
    'bench.yml',
  );

/** Placements as one string per evaluation, so equal placements compare equal. */
const placements = (config: EdgeshipConfig, results: ProfileResult[], deployed: Record<string, PlacementChoice> = {}) =>
  planPlacement(config, results, new Map(), deployed)
    .map((decision) => `${decision.target}=${decision.choice}`)
    .join(' ');

/** The way placement was planned before rounds: the pooled p95, no interval, nothing deployed. */
const pooled = (results: ProfileResult[]) => results.map(({ p95: _rounds, ...result }) => result);

function stress(): ChildProcess | undefined {
  if (spawnSync('stress-ng', ['--version']).status !== 0) {
    console.log('stress-ng is not installed (apt-get install stress-ng): evaluating on a quiet machine instead');
    return undefined;
  }
  return spawn('stress-ng', ['--cpu', String(availableParallelism()), '--timeout', '900'], { stdio: 'ignore' });
}

export async function placementBench(): Promise<void> {
  const [model] = await benchModels();
  if (!model) return;
  // Quiet: what is deployed, and budgets where the edge just fits.
  const probe = await measure(model.file, configFor(1000, 0, 1000));
  const edge = probe[0]?.p95?.p95Ms ?? 1;
  const cloud = probe[1]?.p95?.p95Ms ?? 1;
  const config = configFor(
    Number((edge * 1.5).toPrecision(3)),
    Number((edge * 0.5).toPrecision(3)),
    Number((cloud * 3).toPrecision(3)),
  );
  const deployed = Object.fromEntries(
    planPlacement(config, probe).map((decision) => [decision.target, decision.choice]),
  );
  console.log(
    `\nPlacement of ${model.name} on a busy machine: quiet p95 ${edge.toFixed(3)} ms on jetson-xavier-nx, budget ${config.targets[0]?.latencyBudgetMs} ms; deployed: ${Object.entries(
      deployed,
    )
      .map(([target, choice]) => `${target}=${choice}`)
      .join(' ')}`,
  );
  const hog = stress();
  const ours: string[] = [];
  const before: string[] = [];
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    console.log("run  xavier p95 (rounds' range) ms   pooled p95 ms  edgeship                 before (pooled p95)");
    for (let run = 1; run <= EVALUATIONS; run += 1) {
      const results = await measure(model.file, config);
      ours.push(placements(config, results, deployed));
      before.push(placements(config, pooled(results)));
      const xavier = results[0];
      const interval = xavier?.p95
        ? `${xavier.p95.p95Ms.toFixed(3)} (${xavier.p95.lowMs.toFixed(3)}–${xavier.p95.highMs.toFixed(3)})${xavier.p95.remeasured ? ' again' : ''}`
        : '–';
      console.log(
        `${String(run).padEnd(5)}${interval.padEnd(33)}${(xavier?.estimated.p95Ms.toFixed(3) ?? '–').padEnd(15)}${(ours.at(-1) ?? '').padEnd(25)}${before.at(-1)}`,
      );
    }
  } finally {
    hog?.kill('SIGTERM');
  }
  const distinct = (list: string[]) => new Set(list).size;
  const flips = (list: string[]) => list.filter((entry, index) => index > 0 && entry !== list[index - 1]).length;
  console.log(
    `Over ${EVALUATIONS} evaluations${hog ? ' under stress-ng' : ''}: distinct placements edgeship ${distinct(ours)}, before ${distinct(before)} (aim: 1 for edgeship); changes from one evaluation to the next: edgeship ${flips(ours)}, before ${flips(before)}`,
  );
}
