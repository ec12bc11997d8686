/**
 * Adaptive offloading on a busy gateway, on loopback: the edge (`edgeship serve` pinned to core
 * 0, like a gateway) and the cloud (`edgeship serve` pinned to core 1, behind a proxy that adds a
 * network delay) serve GRU 384×2 at 32 rows a request (~20 ms of CPU here, so inference, not
 * HTTP, is what a request costs the gateway, as with a real edge model); requests arrive at a
 * fixed rate (open loop, from core 1); a CPU hog (`stress-ng --cpu 4`, pinned to core 0 at nice
 * 5: the gateway's other services getting busy, with a lower CPU weight than the inference pod,
 * as pod requests give) runs in the middle phase. `HOG=`, `HOG_NICE=`, `ROWS=`, `RATE=` change
 * those. The same run is made twice: the edge placed statically (every request local) and
 * `--adaptive`. Prints p99 and the local share per phase, switches per minute, and the work the
 * hog got done (stress-ng's bogo ops a second: the CPU left to the gateway's other services).
 * The budget is set from a calm calibration in the same run: 1.5 × the larger of the local p99
 * and the offloaded p99 (through the gateway's forwarder and the delay, as a site's requests
 * go), so both paths fit when the gateway is calm.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { percentile } from '../src/core/stats.ts';
import { benchModel } from './models.ts';
import { serveChild, stopChild } from './serve-child.ts';
import { sized, SMOKE } from './mode.ts';

const RATE = Number(process.env.RATE ?? 15);
const DELAY_MS = 2;
const HOG_THREADS = Number(process.env.HOG ?? 4);
const HOG_NICE = Number(process.env.HOG_NICE ?? 5);
const PHASES = [
  { name: 'calm', seconds: sized(15, 2), hog: false },
  { name: 'hog', seconds: sized(30, 3), hog: true },
  { name: 'after', seconds: sized(25, 2), hog: false },
] as const;

const ROWS = Number(process.env.ROWS ?? 32);
const BODY = JSON.stringify({
  inputs: [
    {
      name: 'readings',
      shape: [ROWS, 32, 3],
      datatype: 'FP32',
      data: Array.from({ length: ROWS * 96 }, (_, index) => 40 + (index % 7)),
    },
  ],
});

/** A proxy that holds each request `delayMs` before passing it on: the network between site and cloud. */
async function delayProxy(target: string, delayMs: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () =>
      setTimeout(() => {
        const upstream = request(
          `${target}${incoming.url ?? '/'}`,
          { method: incoming.method, headers: incoming.headers, agent },
          (answer) => {
            outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(outgoing);
          },
        );
        upstream.on('error', () => outgoing.writeHead(502).end());
        upstream.end(Buffer.concat(chunks));
      }, delayMs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).finally(() => agent.destroy()),
  };
}

/** Sends RATE requests a second for `seconds`, whatever the answers (open loop): each answer's send time (s into the run) and latency (ms). */
async function drive(url: string, seconds: number, agent: Agent): Promise<{ at: number; ms: number }[]> {
  const latencies: { at: number; ms: number }[] = [];
  const pending: Promise<void>[] = [];
  const started = performance.now();
  let sent = 0;
  while (performance.now() - started < seconds * 1000) {
    const due = Math.floor(((performance.now() - started) / 1000) * RATE);
    for (; sent < due; sent += 1) {
      const at = performance.now();
      pending.push(
        new Promise<void>((resolve) => {
          const call = request(
            url,
            { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
            (answer) => {
              answer.resume();
              answer.on('end', () => {
                latencies.push({
                  at: (at - started) / 1000,
                  ms: answer.statusCode === 200 ? performance.now() - at : Infinity,
                });
                resolve();
              });
            },
          );
          call.on('error', () => {
            latencies.push({ at: (at - started) / 1000, ms: Infinity });
            resolve();
          });
          call.end(BODY);
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(pending);
  return latencies;
}

/** The edge's request counters by route, from its /metrics. */
async function routes(edge: string): Promise<{ local: number; cloud: number; switches: number }> {
  const text = await fetch(`${edge}/metrics`).then((answer) => answer.text());
  const sum = (pattern: RegExp) => [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);
  return {
    local: sum(/^edgeship_offload_requests_total\{[^}]*route="(?:local|fallback)"\} (\S+)$/gm),
    cloud: sum(/^edgeship_offload_requests_total\{[^}]*route="forwarded"\} (\S+)$/gm),
    switches: sum(/^edgeship_adaptive_switches_total\{[^}]*\} (\S+)$/gm),
  };
}

const p99 = (answers: { at: number; ms: number }[]) =>
  percentile(
    answers.map((answer) => answer.ms).sort((a, b) => a - b),
    99,
  );
/** Seconds of each calm calibration: at 15 req/s, 150 answers, so the p99 is not the slowest one. */
const CALIBRATION_S = sized(10, 2);
/** Seconds a switch may take: the settled p99 leaves them out. */
const SETTLE_S = sized(3, 1);

/** The hog, and once it is stopped, the bogo ops a second it got done (its --metrics-brief line). */
function hog(): { child: ChildProcess; opsPerSecond: Promise<number | undefined> } {
  const child = spawn(
    'taskset',
    [
      '-c',
      '0',
      'nice',
      '-n',
      String(HOG_NICE),
      'stress-ng',
      '--cpu',
      String(HOG_THREADS),
      '--timeout',
      '120',
      '--metrics-brief',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let text = '';
  for (const stream of [child.stdout, child.stderr])
    stream?.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const opsPerSecond = once(child, 'exit').then(() => {
    const match = /\bcpu\s+(\d+)\s+([\d.]+)/.exec(text);
    return match ? Number(match[1]) / Number(match[2]) : undefined;
  });
  return { child, opsPerSecond };
}

interface PhaseResult {
  name: string;
  p99: number;
  /** The p99 of what was sent after the phase's first seconds. */
  settled: number;
  localShare: number | undefined;
}

async function run(
  edgeArgs: string[],
  cloudUrl: string,
  file: string,
  agent: Agent,
): Promise<{ phases: PhaseResult[]; switchesPerMinute: number; hogOpsPerSecond: number | undefined }> {
  const began = performance.now();
  const switches: string[] = [];
  const stderr = (line: string) => {
    if (line.includes('switched')) switches.push(`${((performance.now() - began) / 1000).toFixed(1)} s ${line}`);
  };
  const edge = await serveChild(
    [
      '--model',
      file,
      '--name',
      'pump',
      '--model-version',
      '1.0.0',
      '--threads',
      '1',
      ...edgeArgs.map((arg) => arg.replace('CLOUD', cloudUrl)),
    ],
    { cpu: 0, stderr },
  );
  const phases: PhaseResult[] = [];
  let stress: ReturnType<typeof hog> | undefined;
  let hogOpsPerSecond: number | undefined;
  try {
    await drive(`${edge.url}/v2/models/pump/infer`, 3, agent);
    const first = await routes(edge.url);
    let before = first;
    for (const phase of PHASES) {
      if (phase.hog) stress = hog();
      const latencies = await drive(`${edge.url}/v2/models/pump/infer`, phase.seconds, agent);
      if (stress) {
        stress.child.kill('SIGTERM');
        hogOpsPerSecond = await stress.opsPerSecond;
        stress = undefined;
      }
      const after = await routes(edge.url);
      const local = after.local - before.local;
      const cloud = after.cloud - before.cloud;
      phases.push({
        name: phase.name,
        p99: p99(latencies),
        settled: p99(latencies.filter((answer) => answer.at >= SETTLE_S)),
        localShare: local + cloud > 0 ? local / (local + cloud) : undefined,
      });
      before = after;
    }
    const minutes = PHASES.reduce((total, phase) => total + phase.seconds, 0) / 60;
    if (process.env.VERBOSE) console.log(switches.join('\n'));
    return { phases, switchesPerMinute: (before.switches - first.switches) / minutes, hogOpsPerSecond };
  } finally {
    stress?.child.kill('SIGTERM');
    await stopChild(edge.child);
  }
}

export async function adaptiveBench(): Promise<void> {
  if (spawnSync('stress-ng', ['--version']).status !== 0 || spawnSync('taskset', ['-V']).status !== 0) {
    console.log(
      '\nAdaptive offloading: skipped, it needs stress-ng and taskset (apt-get install stress-ng util-linux)',
    );
    return;
  }
  const model = { name: 'GRU 384×2', file: await benchModel(384, 2) };
  // The load generator and the cloud share core 1; the gateway is core 0.
  spawnSync('taskset', ['-cp', '1', String(process.pid)]);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const cloud = await serveChild(
    ['--model', model.file, '--name', 'pump', '--model-version', '1.0.0', '--threads', '1'],
    { cpu: 1 },
  );
  const proxy = await delayProxy(cloud.url, DELAY_MS);
  try {
    // Calibration, calm: the local p99 and the cloud's through the delay; the budget sits between.
    const edge = await serveChild(['--model', model.file, '--name', 'pump', '--threads', '1'], { cpu: 0 });
    const local = p99(
      await drive(`${edge.url}/v2/models/pump/infer`, 3, agent).then(() =>
        drive(`${edge.url}/v2/models/pump/infer`, CALIBRATION_S, agent),
      ),
    );
    await stopChild(edge.child);
    // The cloud path as a site takes it: through the gateway's own forwarder, then the delay.
    const offloaded = await serveChild(
      [
        '--model',
        model.file,
        '--name',
        'pump',
        '--model-version',
        '1.0.0',
        '--threads',
        '1',
        '--offload-url',
        proxy.url,
      ],
      { cpu: 0 },
    );
    const remote = p99(
      await drive(`${offloaded.url}/v2/models/pump/infer`, 3, agent).then(() =>
        drive(`${offloaded.url}/v2/models/pump/infer`, CALIBRATION_S, agent),
      ),
    );
    await stopChild(offloaded.child);
    const budget = Number((Math.max(local, remote) * 1.5).toPrecision(2));
    console.log(
      `\nAdaptive offloading, ${model.name}, ${RATE} req/s: calm p99 local ${local.toFixed(2)} ms, offloaded (the gateway's forwarder, a ${DELAY_MS} ms delay, the cloud) ${remote.toFixed(2)} ms; budget ${budget} ms`,
    );
    console.log(
      `phases: ${PHASES.map((phase) => `${phase.name} ${phase.seconds} s${phase.hog ? ' (stress-ng --cpu ' + String(HOG_THREADS) + ' at nice ' + String(HOG_NICE) + ' on the gateway core)' : ''}`).join(', ')}`,
    );
    const fixed = await run([], '', model.file, agent);
    const adaptive = await run(
      ['--adaptive', '--offload-url', 'CLOUD', '--latency-budget-ms', String(budget), '--max-local-cpu', '0.8'],
      proxy.url,
      model.file,
      agent,
    );
    console.log(
      `placement   ${PHASES.map((phase) => `${phase.name}: p99 (after ${SETTLE_S} s) ms, local share`.padEnd(42)).join('')}`,
    );
    for (const [name, result] of [
      ['static edge', fixed],
      ['adaptive', adaptive],
    ] as const) {
      console.log(
        name.padEnd(12) +
          result.phases
            .map((phase) =>
              `${phase.p99.toFixed(2)} (${phase.settled.toFixed(2)}), ${phase.localShare === undefined ? '–' : phase.localShare.toFixed(2)}`.padEnd(
                42,
              ),
            )
            .join(''),
      );
    }
    const phaseOf = (result: typeof fixed, name: string) => result.phases.find((phase) => phase.name === name);
    const hogPhase = (result: typeof fixed) => phaseOf(result, 'hog');
    const ops = (value: number | undefined) => (value === undefined ? 'unknown' : value.toFixed(0));
    console.log(
      `While the hog ran: adaptive p99 ${hogPhase(adaptive)?.p99.toFixed(2)} ms, ${hogPhase(adaptive)?.settled.toFixed(2)} ms after the first ${SETTLE_S} s, against the ${budget} ms budget (static edge ${hogPhase(fixed)?.p99.toFixed(2)} ms); ` +
        `switches ${adaptive.switchesPerMinute.toFixed(1)} a minute (aim < 5); the hog's work: ${ops(adaptive.hogOpsPerSecond)} bogo ops/s beside adaptive, ${ops(fixed.hogOpsPerSecond)} beside the static edge`,
    );
    const share = (result: typeof fixed, name: string) => phaseOf(result, name)?.localShare ?? NaN;
    const aims = [
      [`adaptive p99 within the budget while the hog ran`, (hogPhase(adaptive)?.p99 ?? Infinity) <= budget],
      [
        `local share falling while it ran (${share(adaptive, 'calm').toFixed(2)} -> ${share(adaptive, 'hog').toFixed(2)})`,
        share(adaptive, 'hog') < share(adaptive, 'calm'),
      ],
      [
        `and returning after (${share(adaptive, 'after').toFixed(2)})`,
        share(adaptive, 'after') > share(adaptive, 'hog'),
      ],
      ['fewer than 5 switches a minute', adaptive.switchesPerMinute < 5],
    ] as const;
    console.log(
      SMOKE
        ? 'Aims are not judged in smoke mode (phases of seconds).'
        : `Aims: ${aims.map(([aim, met]) => `${aim}: ${met ? 'met' : 'MISSED'}`).join('; ')}`,
    );
  } finally {
    spawnSync('taskset', ['-cp', `0-${Math.max(1, availableParallelism() - 1)}`, String(process.pid)]);
    agent.destroy();
    await proxy.close();
    await stopChild(cloud.child);
  }
}
