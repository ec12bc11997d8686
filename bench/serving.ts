/**
 * Serving figures: `edgeship serve` (a child process, as it runs in a pod) under autocannon on
 * loopback against two baselines on the same model with the same threads, measured in the same
 * run: the minimal server any HTTP server is bounded by (bench/minimal-server.ts: node:http,
 * JSON.parse, session.run, in a child process too, same connections), and a bare in-process
 * session.run loop, in alternated rounds; at batch 1 and 32 (aim ≥ 0.9 of the
 * minimal server at both, ≥ 0.9 of bare at batch 32 on the larger model). Then health answers
 * while 1,000 connections infer (p99, aim < 100 ms), and the cost of offloading: an edge
 * forwarder in front of the cloud server against calling the cloud server directly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import ort from 'onnxruntime-node';
import { percentile } from '../src/core/stats.ts';
import { freePort } from '../test/helpers/registry.ts';
import { benchModels, forecasterRequest } from './models.ts';
import { builtScript } from './built.ts';
import { serveChild, stopChild } from './serve-child.ts';
import { sized } from './mode.ts';
import { grpcLoad, rawRequestOf } from './grpc-load.ts';

const SECONDS = sized(5, 1);
const THREADS = 1;
const CONNECTIONS = 4;
/** Alternated rounds of edgeship and the minimal server per model and batch. */
const PAIRS = sized(6, 1);

/** The example-sized forecaster's request body, for the parts that measure something else than the model. */
const requestBody = forecasterRequest;

/** A bare in-process session.run loop on `file` with the tensors of `body`: one session, the same feeds each run. */
async function bareLoop(
  file: string,
  body: string,
): Promise<{ round: () => Promise<number>; release: () => Promise<void> }> {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: THREADS,
    graphOptimizationLevel: 'all',
  });
  const parsed = JSON.parse(body) as { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
  const feeds = Object.fromEntries(
    parsed.inputs.map((input) => [
      input.name,
      input.datatype === 'INT64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from(input.data, (value) => BigInt(value)),
            input.shape,
          )
        : new ort.Tensor('float32', Float32Array.from(input.data), input.shape),
    ]),
  );
  for (let index = 0; index < 50; index += 1) await session.run(feeds);
  /** Runs for SECONDS; runs a second. */
  const round = async () => {
    let runs = 0;
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      await session.run(feeds);
      runs += 1;
    }
    return runs / SECONDS;
  };
  return { round, release: () => session.release() };
}

/** The minimal server in a child process, compiled like edgeship's; resolves once it listens. */
async function minimal(file: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = fork(await builtScript('minimal-server.ts'), [file, String(port), String(THREADS)], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  await once(child, 'message');
  return { url: `http://127.0.0.1:${port}`, child };
}

const serve = (args: string[]) => serveChild(['--threads', String(THREADS), ...args]);

interface Load {
  rps: number;
  p50: number;
  p99: number;
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

async function load(url: string, body: string, connections: number): Promise<Load> {
  const result = await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections,
    duration: SECONDS,
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

const stop = stopChild;

export async function servingBench(): Promise<void> {
  const models = await benchModels();
  console.log(
    `\nServing, the built CLI as a pod runs it (${THREADS} ONNX Runtime thread, ${PAIRS} alternated rounds of ${SECONDS} s each of edgeship, the minimal server and the bare loop; autocannon on loopback, ${CONNECTIONS} connections; figures are medians, ÷minimal and ÷bare the medians of the rounds' ratios):`,
  );
  console.log(
    'model                     batch  conns  bare runs/s  minimal req/s  edgeship req/s  ÷minimal  ÷bare   p99 ms minimal/edgeship',
  );
  // Smoke mode runs the example and the two-input int64 model, so neither path can rot.
  for (const model of sized(
    models,
    models.filter((_, index) => index !== 1),
  )) {
    const server = await serve(['--model', model.file, '--name', 'pump']);
    const floor = await minimal(model.file);
    try {
      for (const batch of sized([1, 32], [32])) {
        const body = model.body(batch);
        const infer = `${server.url}/v2/models/pump/infer`;
        const plain = `${floor.url}/v2/models/pump/infer`;
        await load(infer, body, CONNECTIONS); // warm-up
        await load(plain, body, CONNECTIONS);
        // Alternated rounds (edgeship and the minimal server at each connection count, the bare
        // loop), so a change in the machine's speed hits all alike; each ratio is the median of
        // the rounds' ratios.
        const counts = [1, CONNECTIONS];
        const ours = counts.map((): Load[] => []);
        const least = counts.map((): Load[] => []);
        const bares: number[] = [];
        const loop = await bareLoop(model.file, body);
        try {
          for (let pair = 0; pair < PAIRS; pair += 1) {
            for (const [index, connections] of counts.entries()) {
              ours[index]?.push(await load(infer, body, connections));
              least[index]?.push(await load(plain, body, connections));
            }
            bares.push(await loop.round());
          }
        } finally {
          await loop.release();
        }
        const rps = (runs: Load[]) => median(runs.map((run) => run.rps));
        const p99 = (runs: Load[]) => Math.max(...runs.map((run) => run.p99));
        for (const [index, connections] of counts.entries()) {
          const mine = ours[index] ?? [];
          const floorRuns = least[index] ?? [];
          const ratio = median(mine.map((run, pair) => run.rps / (floorRuns[pair] as Load).rps));
          const ofBare = median(mine.map((run, pair) => run.rps / (bares[pair] as number)));
          console.log(
            `${model.name.padEnd(26)}${String(batch).padEnd(7)}${String(connections).padEnd(7)}${median(bares).toFixed(0).padEnd(13)}${rps(floorRuns).toFixed(0).padEnd(15)}${rps(mine).toFixed(0).padEnd(16)}${ratio.toFixed(2).padEnd(10)}${ofBare.toFixed(2).padEnd(8)}${p99(floorRuns)}/${p99(mine)}`,
          );
        }
      }
    } finally {
      await Promise.all([stop(server.child), stop(floor.child)]);
    }
  }
  console.log(
    '(aim: ÷minimal ≥ 0.9 for each model, batch and connection count; ÷bare ≥ 0.9 at batch 32 and 4 connections on the larger model)',
  );
  await grpcBesideRest(models[0]?.file);
  await healthUnderLoad(models[0]?.file);
  const [model] = models;
  if (!model) return;
  const cloud = await serve(['--model', model.file, '--name', 'pump']);
  const edge = await serve(['--name', 'pump', '--offload-url', cloud.url]);
  try {
    const body = requestBody(1);
    await load(`${edge.url}/v2/models/pump/infer`, body, 1);
    const direct = await load(`${cloud.url}/v2/models/pump/infer`, body, 1);
    const forwarded = await load(`${edge.url}/v2/models/pump/infer`, body, 1);
    console.log(
      `\nOffload of ${model.name} at batch 1, one connection: direct to the cloud server ${direct.rps.toFixed(0)} req/s, p99 ${direct.p99} ms; through an edge forwarder ${forwarded.rps.toFixed(0)} req/s, p99 ${forwarded.p99} ms (${(forwarded.rps / direct.rps).toFixed(2)} of direct throughput)`,
    );
  } finally {
    await Promise.all([stop(cloud.child), stop(edge.child)]);
  }
}

/**
 * The same server over gRPC (raw_input_contents, one channel, `n` calls in flight) beside REST
 * (JSON, autocannon, `n` connections), in alternated rounds, at 1 and CONNECTIONS at a time. A
 * grpc-js client in this process sends far fewer calls a second than autocannon, so beside the
 * rates the server's own CPU time per request (from /proc) compares what each transport costs it.
 */
async function grpcBesideRest(file: string | undefined): Promise<void> {
  if (!file) return;
  const grpcPort = await freePort();
  const server = await serve(['--model', file, '--name', 'pump', '--grpc-port', String(grpcPort)]);
  const cpuMs = () => processCpuMs(server.child.pid ?? 0);
  try {
    console.log(
      `\nOIP over gRPC beside REST, batch 1 (${PAIRS} alternated rounds of ${SECONDS} s; gRPC: a grpc-js client in the bench process, raw_input_contents; REST: autocannon, JSON):`,
    );
    console.log('in flight  REST req/s  gRPC req/s  server CPU ms/request REST/gRPC  p99 ms REST/gRPC');
    const body = requestBody(1);
    const request = rawRequestOf(body);
    for (const inFlight of [1, CONNECTIONS]) {
      const rest: (Load & { cpu: number })[] = [];
      const overGrpc: { rps: number; p99: number; cpu: number }[] = [];
      for (let pair = 0; pair < PAIRS; pair += 1) {
        let before = cpuMs();
        const restRun = await load(`${server.url}/v2/models/pump/infer`, body, inFlight);
        rest.push({ ...restRun, cpu: (cpuMs() - before) / (restRun.rps * SECONDS) });
        before = cpuMs();
        const grpcRun = await grpcLoad(`127.0.0.1:${grpcPort}`, request, inFlight, SECONDS);
        overGrpc.push({ ...grpcRun, cpu: (cpuMs() - before) / (grpcRun.rps * SECONDS) });
      }
      const cpu = (runs: { cpu: number }[]) => median(runs.map((run) => run.cpu)).toFixed(3);
      console.log(
        `${String(inFlight).padEnd(11)}${median(rest.map((run) => run.rps))
          .toFixed(0)
          .padEnd(12)}${median(overGrpc.map((run) => run.rps))
          .toFixed(0)
          .padEnd(
            12,
          )}${`${cpu(rest)}/${cpu(overGrpc)}`.padEnd(34)}${Math.max(...rest.map((run) => run.p99))}/${Math.max(...overGrpc.map((run) => run.p99)).toFixed(1)}`,
      );
    }
  } finally {
    await stop(server.child);
  }
}

/** CPU time (user and system) a process has used, in ms, from /proc (Linux). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** USER_HZ: the unit of /proc's CPU times, 100 on Linux for every architecture edgeship runs on. */
const CLOCK_TICKS = 100;

/**
 * Health answers while 1,000 connections send batch-32 infer requests, from their first second
 * (they are still connecting) for 6 s. Probes go as the kubelet sends them, a new connection
 * each, one after another, from this process while autocannon runs in a worker thread; to the
 * health port the templates probe and, at the same time, to the inference port.
 */
async function healthUnderLoad(file: string | undefined): Promise<void> {
  if (!file) return;
  const healthPort = await freePort();
  const server = await serve(['--model', file, '--name', 'pump', '--health-port', String(healthPort)]);
  try {
    const body = requestBody(32);
    const loading = autocannon({
      url: `${server.url}/v2/models/pump/infer`,
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
      connections: sized(1000, 50),
      duration: SECONDS + 3,
      timeout: 60,
      workers: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const until = performance.now() + sized(6000, 1000);
    const [health, shared] = await Promise.all([
      probes(`http://127.0.0.1:${healthPort}/v2/health/live`, until),
      probes(`${server.url}/v2/health/live`, until),
    ]);
    const result = await loading;
    console.log(
      `\nHealth while 1,000 connections infer: health port ${health} (aim p99 < 100 ms); inference port ${shared}; infer: ${result.requests.average.toFixed(0)} req/s, ${result.non2xx} non-2xx, ${result.errors} errors`,
    );
  } finally {
    await stop(server.child);
  }
}

/** Probes `url` one after another until `until`, each on a new connection; their latencies. */
async function probes(url: string, until: number): Promise<string> {
  const samples: number[] = [];
  while (performance.now() < until) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      get(url, { agent: false }, (response) => response.resume().on('end', resolve)).on('error', reject);
    });
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const p = (q: number) => percentile(samples, q).toFixed(1);
  return `${samples.length} answers, p50 ${p(50)} ms, p99 ${p(99)} ms, max ${p(100)} ms`;
}
