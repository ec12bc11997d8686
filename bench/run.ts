/**
 * `npm run bench`: the profiler against a bare session.run loop with the same session options
 * (ratio of p50s, aim ≤ 1.05), and event-loop lag while profiling (p99, aim ≤ 50 ms).
 * Rounds alternate between the two so drift in machine speed hits both alike. Then the GitHub
 * App figures (bench/github.ts), the GitOps writer (bench/gitops.ts), serving (bench/serving.ts) and
 * placement on a busy machine (bench/placement.ts), CLI start-up (bench/cli.ts), adaptive offloading
 * on a busy gateway (bench/adaptive.ts), verifying a signed model (bench/signing.ts). `npm run bench --
 * profiler`, `-- github`, `-- gitops`, `-- serving`, `-- placement`, `-- cli`, `-- adaptive`, `-- signing`, `-- analysis` or `-- joint` runs one part;
 * `--smoke` runs each at small sizes for seconds (bench/mode.ts), as CI does.
 */
import { performance, monitorEventLoopDelay } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { sessionOptions } from '../src/adapters/onnx/profile-child.ts';
import { OnnxProfiler } from '../src/adapters/onnx/profiler.ts';
import { specsOf, syntheticTensor } from '../src/adapters/onnx/tensors.ts';
import { percentile } from '../src/core/stats.ts';
import { githubBench } from './github.ts';
import { gitopsBench } from './gitops.ts';
import { servingBench } from './serving.ts';
import { placementBench } from './placement.ts';
import { analysisBench } from './analysis.ts';
import { jointBench } from './joint.ts';
import { cliBench } from './cli.ts';
import { adaptiveBench } from './adaptive.ts';
import { signingBench } from './signing.ts';
import { benchModels } from './models.ts';
import { sized } from './mode.ts';

const ROUNDS = sized(5, 1);
const RUNS = sized(300, 20);
const WARMUP = sized(20, 2);
const THREADS = 2;
const BATCHES = sized([1, 64], [1]);

async function bareP50(file: string, batch: number): Promise<number> {
  const session = await ort.InferenceSession.create(file, sessionOptions(THREADS));
  const feeds = Object.fromEntries(
    specsOf(session.inputMetadata).map((spec, index) => [spec.name, syntheticTensor(spec, batch, index + 1)]),
  );
  for (let index = 0; index < WARMUP; index += 1) await session.run(feeds);
  const samples: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const start = performance.now();
    await session.run(feeds);
    samples.push(performance.now() - start);
  }
  await session.release();
  return percentile(
    samples.sort((a, b) => a - b),
    50,
  );
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

async function main(): Promise<void> {
  const profiler = new OnnxProfiler();
  const profile = { threads: THREADS, memoryMb: 4096, speedFactor: 1 };
  const rows: string[][] = [];
  const lags: { p99: number; max: number }[] = [];
  for (const model of (await benchModels()).slice(0, sized(2, 1))) {
    for (const batch of BATCHES) {
      const bare: number[] = [];
      const ours: number[] = [];
      const ratios: number[] = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        const baseline = await bareP50(model.file, batch);
        const lag = monitorEventLoopDelay({ resolution: 1 });
        lag.enable();
        const result = await profiler.profile(model.file, 'bench', profile, { runs: RUNS, warmup: WARMUP, batch });
        lag.disable();
        lags.push({ p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 });
        bare.push(baseline);
        ours.push(result.measured.p50Ms);
        ratios.push(result.measured.p50Ms / baseline);
      }
      rows.push([
        model.name,
        String(batch),
        median(bare).toFixed(3),
        median(ours).toFixed(3),
        median(ratios).toFixed(3),
      ]);
    }
  }
  const worstP99 = Math.max(...lags.map((lag) => lag.p99));
  const worstMax = Math.max(...lags.map((lag) => lag.max));
  const header = ['model', 'batch', 'bare p50 ms', 'profiler p50 ms', 'ratio (aim ≤ 1.05)'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  console.log(`Profiler vs bare session.run: ${THREADS} threads, ${RUNS} runs, median of ${ROUNDS} alternating rounds`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(
    `\nEvent-loop lag while profiling (worst of ${lags.length} profiling calls): p99 ${worstP99.toFixed(2)} ms, max ${worstMax.toFixed(2)} ms (aim p99 ≤ 50 ms)`,
  );
}

const only = process.argv.slice(2).find((argument) => !argument.startsWith('--'));
if (!only || only === 'profiler') await main();
if (!only || only === 'github') await githubBench();
if (!only || only === 'gitops') await gitopsBench();
if (!only || only === 'serving') await servingBench();
if (!only || only === 'placement') await placementBench();
if (!only || only === 'cli') await cliBench();
if (!only || only === 'adaptive') await adaptiveBench();
if (!only || only === 'signing') await signingBench();
if (!only || only === 'analysis') await analysisBench();
if (!only || only === 'joint') await jointBench();
