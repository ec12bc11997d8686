/**
 * A joint pair served (`edgeship serve --joint-threshold`): a classifier at the edge that answers
 * the requests it is confident about and forwards the others to the cloud's model, against the
 * edge model alone and the cloud model alone, each the built CLI in a child process under
 * autocannon. The requests cycle through ten rows of known confidence, three of them under the
 * threshold, so the pair sends 30% to the cloud. Prints each one's rate and p99, and the pair's
 * against the edge alone (the baseline, measured in alternated rounds here).
 */
import { join } from 'node:path';
import autocannon from 'autocannon';
import { percentile } from '../src/core/stats.ts';
import { modelZoo } from '../test/helpers/model-zoo.ts';
import { sized } from './mode.ts';
import { serveChild, stopChild } from './serve-child.ts';

const SECONDS = sized(5, 1);
const ROUNDS = sized(4, 1);
const CONNECTIONS = 4;
const THRESHOLD = 0.8;
/** Confidences of the ten requests: three under the threshold. */
const CONFIDENCES = [0.9375, 0.875, 0.625, 0.96875, 0.75, 0.90625, 0.5, 0.84375, 0.8125, 0.875];

const bodies = CONFIDENCES.map((confidence) =>
  JSON.stringify({
    inputs: [{ name: 'scores', shape: [1, 2], datatype: 'FP32', data: [confidence, 1 - confidence] }],
  }),
);

async function load(url: string): Promise<{ rps: number; p99: number }> {
  const result = await autocannon({
    url: `${url}/v2/models/pump/infer`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: bodies.map((body) => ({ method: 'POST', body, headers: { 'content-type': 'application/json' } })),
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export async function jointBench(): Promise<void> {
  const zoo = await modelZoo();
  const model = (file: string) => ['--model', join(zoo, file), '--name', 'pump', '--model-version', '1.0.0'];
  const cloud = await serveChild(model('opposite-classifier.onnx'));
  const edge = await serveChild(model('classifier.onnx'));
  const pair = await serveChild([
    ...model('classifier.onnx'),
    '--offload-url',
    cloud.url,
    '--joint-threshold',
    String(THRESHOLD),
    '--confidence-output',
    'confidence',
  ]);
  try {
    const figures: Record<'edge' | 'pair' | 'cloud', { rps: number; p99: number }[]> = {
      edge: [],
      pair: [],
      cloud: [],
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      figures.edge.push(await load(edge.url));
      figures.pair.push(await load(pair.url));
      figures.cloud.push(await load(cloud.url));
    }
    const metrics = await (await fetch(`${pair.url}/metrics`)).text();
    const counted = (answered: string) =>
      Number(
        new RegExp(
          `edgeship_joint_requests_total\\{model="pump",answered="${answered}",reason="[a-z-]+"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    const share = counted('cloud') / Math.max(1, counted('cloud') + counted('edge'));
    console.log(
      `\nJoint serving (classifier at the edge, its opposite in the cloud, threshold ${THRESHOLD}: ${Math.round(share * 100)}% of requests sent to the cloud; ${ROUNDS} alternated rounds of ${SECONDS} s, autocannon, ${CONNECTIONS} connections, medians):`,
    );
    console.log('served           req/s    p99 ms (autocannon counts whole ms)');
    for (const [name, runs] of Object.entries({
      'edge alone': figures.edge,
      'cloud alone': figures.cloud,
      'joint pair': figures.pair,
    }))
      console.log(
        `${name.padEnd(15)}  ${median(runs.map((run) => run.rps))
          .toFixed(0)
          .padStart(6)}  ${median(runs.map((run) => run.p99))
          .toFixed(1)
          .padStart(7)}`,
      );
    const ratios = figures.pair.map((run, index) => run.rps / (figures.edge[index]?.rps ?? run.rps));
    console.log(`joint pair ÷ edge alone: ${median(ratios).toFixed(2)}× the rate`);
  } finally {
    await Promise.all([stopChild(pair.child), stopChild(edge.child), stopChild(cloud.child)]);
  }
}
