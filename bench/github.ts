/**
 * GitHub App figures:
 * - a whole release (push, training, release PR, merge, GitOps commit, three waves, done) through
 *   the app against the fake GitHub, for fleets of 4, 100, 1,000 and 10,000 sites: calls,
 *   content-creating calls by kind, the largest text, and the least time GitHub's documented
 *   secondary limits (80 content-creating requests a minute, 500 an hour) allow for it;
 * - the calls from push to the first wave of the example model (4 targets);
 * - webhook answer time over HTTP (signed deliveries to Probot's middleware on loopback) against a
 *   no-op Probot app answering the same deliveries in the same process.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { zipSync } from 'fflate';
import nock from 'nock';
import { createNodeMiddleware, Probot, ProbotOctokit, type ApplicationFunction } from 'probot';
import { edgeshipApp } from '../src/app/index.ts';
import { WorkQueue } from '../src/app/work-queue.ts';
import { OnnxInspector } from '../src/adapters/onnx/inspector.ts';
import { collectOutputs } from '../src/adapters/training/local-process.ts';
import { parseConfig } from '../src/core/config-parse.ts';
import { percentile } from '../src/core/stats.ts';
import { evaluate } from '../src/services/evaluate.ts';
import setup from '../test/global-setup.ts';
import { apiCalls, FakeGitHub, isWrite, type Call } from '../test/helpers/fake-github.ts';
import { fakeProfiler, silentProgress } from '../test/helpers/fakes.ts';
import { FleetRelease, textsOf } from '../test/helpers/fleet-release.ts';
import { example, privateKey, TEST_POLICY } from '../test/helpers/webhooks.ts';
import { readFile } from 'node:fs/promises';
import { sized, SMOKE } from './mode.ts';

const SECRET = 'bench-secret';
const DELIVERIES = sized(200, 10);
const FLEETS = sized([4, 100, 1_000, 10_000], [4, 100]);
const MODEL = 'acme/pump-model';
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The example model's training outputs, as the test setup provides them (it provides other values too). */
async function exampleOutputs(): Promise<string> {
  let directory = '';
  await setup({ provide: (key: string, value: string) => key === 'exampleOutputs' && (directory = value) } as never);
  if (!directory) throw new Error('the test setup provided no exampleOutputs');
  return directory;
}

/** The least time GitHub's secondary limits allow for `writes` content-creating requests: at most 80 in any minute and 500 in any hour. */
export function leastSeconds(writes: number): number {
  return Math.max((Math.ceil(writes / 80) - 1) * 60, (Math.ceil(writes / 500) - 1) * 3600, 0);
}

const duration = (seconds: number) =>
  seconds < 60
    ? `${seconds} s`
    : seconds < 3600
      ? `${Math.round(seconds / 60)} min`
      : `${(seconds / 3600).toFixed(0)} h`;
const kindOf = (call: Call) =>
  call.path === '/graphql'
    ? 'GraphQL mutation'
    : `${call.method} ${call.path
        .replace(/^\/repos\/[^/]+\/[^/]+/, '')
        .replace(/\/\d+(?=\/|$)/g, '/:n')
        .replace(/\/heads\/.*/, '/heads/:branch')}`;

/** One whole release to each fleet size through the app: what it costs on GitHub. */
async function fleetReleases(outputs: string): Promise<void> {
  const rows: string[][] = [];
  const kinds: string[] = [];
  for (const size of FLEETS) {
    const github = new FakeGitHub();
    // Counted, not enforced: the least time below is what the documented limits allow.
    github.limits.perMinute = Infinity;
    github.limits.perHour = Infinity;
    try {
      const started = performance.now();
      await new FleetRelease(github, size, outputs).run();
      const ms = performance.now() - started;
      const refused = github
        .repo(MODEL)
        .deployments.find((deployment) => deployment.statuses.some((status) => status.state === 'failure'));
      if (refused)
        throw new Error(`the release did not deploy: ${refused.environment} ${refused.statuses.at(-1)?.description}`);
      const calls = apiCalls(github.calls);
      const writes = calls.filter(isWrite);
      const model = github.repo('acme/pump-model');
      const largest = textsOf(github).reduce((top, text) => (text.text.length > top.text.length ? text : top));
      const byKind = new Map<string, number>();
      for (const call of writes) byKind.set(kindOf(call), (byKind.get(kindOf(call)) ?? 0) + 1);
      rows.push([
        size.toLocaleString('en-US'),
        String(calls.length),
        String(writes.length),
        String(model.deployments.length),
        String(model.deployments.reduce((sum, deployment) => sum + deployment.statuses.length, 0)),
        `${largest.text.length.toLocaleString('en-US')} (${largest.where})`,
        duration(leastSeconds(writes.length)),
        (ms / 1000).toFixed(1),
      ]);
      kinds.push(
        `  ${size.toLocaleString('en-US')} sites: ${[...byKind]
          .sort(([, a], [, b]) => b - a)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ')}`,
      );
    } finally {
      github.done();
    }
  }
  console.log(
    '\nA whole release through the app (push, training, release PR, merge, GitOps commit, three waves of 1%, 10% and the rest, done), per fleet size' +
      (SMOKE ? ' (smoke mode: small fleets, figures not judged)' : '') +
      ':',
  );
  const header = [
    'sites',
    'calls',
    'content-creating',
    'deployments',
    'deployment statuses',
    'largest text (chars)',
    "least time GitHub's limits allow",
    'wall s',
  ];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
  console.log(
    'Aims at 10,000 sites: at most 60 content-creating requests, under 2 min of least time. Content-creating requests by kind:',
  );
  for (const line of kinds) console.log(line);
}

async function serve(appFn: ApplicationFunction): Promise<{ url: string; server: Server }> {
  const probot = new Probot({
    appId: 1,
    privateKey,
    secret: SECRET,
    logLevel: 'fatal',
    Octokit: ProbotOctokit.defaults((options: Record<string, unknown>) => ({
      ...options,
      retry: { enabled: false },
      throttle: { enabled: false },
    })),
  });
  const middleware = await createNodeMiddleware(appFn, { probot, webhooksPath: '/hooks' });
  const server = createServer(
    (request, response) => void middleware(request, response, () => response.writeHead(404).end()),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, server };
}

async function deliver(url: string, event: string, payload: object, id: string): Promise<number> {
  const body = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-hub-signature-256': signature,
    },
  });
  await response.text();
  if (!response.ok) throw new Error(`${event} answered ${response.status}`);
  return performance.now() - started;
}

export async function githubBench(): Promise<void> {
  const outputs = await exampleOutputs();
  await fleetReleases(outputs);
  const github = new FakeGitHub();
  nock.enableNetConnect('127.0.0.1'); // the deliveries; GitHub itself stays faked
  const configText = (
    await readFile(new URL('../model-repo-example/.github/edgeship.yml', import.meta.url), 'utf8')
  ).replace('repo: edgeship-demo/gitops', 'repo: acme/gitops');
  const sha = github.commit(MODEL, 'main', { '.github/edgeship.yml': configText });
  github.commit('acme/gitops', 'main', { 'README.md': '# GitOps\n' });
  const collected = await collectOutputs(outputs);
  const report = await evaluate(
    {
      inspector: new OnnxInspector(),
      profiler: fakeProfiler({ 'jetson-xavier-nx': 3, 'jetson-orin-nano': 2, 'cloud-cpu': 1 }),
      progress: silentProgress,
    },
    {
      config: parseConfig(configText, 'edgeship.yml'),
      outputs: collected,
      provenance: { trainedAt: new Date().toISOString() },
    },
  );
  const digest = `sha256:${'d'.repeat(64)}`;
  const runId = github.addRun(MODEL, {
    head_sha: sha,
    head_branch: 'main',
    status: 'completed',
    workflow: 'edgeship-train.yml',
  });
  github.addArtifact(
    MODEL,
    runId,
    'edgeship-report',
    zipSync({
      'report.json': Buffer.from(
        JSON.stringify({ ...report, artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${digest}`, digest } }),
      ),
    }),
  );

  const push = Object.assign(example('push', MODEL), { ref: 'refs/heads/main', after: sha, deleted: false });
  push.head_commit = { ...push.head_commit, id: sha } as typeof push.head_commit;
  const run = example('workflow_run.completed', MODEL);
  Object.assign(run.workflow_run, {
    id: runId,
    head_sha: sha,
    head_branch: 'main',
    path: '.github/workflows/edgeship-train.yml',
    conclusion: 'success',
    head_repository: { ...run.workflow_run.head_repository, full_name: MODEL },
  });
  const comment = example('issue_comment.created', MODEL);
  Object.assign(comment.comment, { body: 'Looks good' });
  const dispatch = Object.assign(example('repository_dispatch', MODEL), { action: 'other' });

  const queue = new WorkQueue(silent);
  const ours = await serve(
    edgeshipApp({
      queue,
      resyncEveryMs: 0,
      rolloutEveryMs: 0,
      trainingEveryMs: 0,
      redeliverEveryMs: 0,
      policy: TEST_POLICY,
    }),
  );
  const bare = await serve((app) => void app.onAny(async () => undefined));
  const events: [string, object][] = [
    ['push', push],
    ['workflow_run', run],
    ['issue_comment', comment],
    ['repository_dispatch', dispatch],
  ];

  // One full release first, counting calls: push, run completed, merge.
  await deliver(ours.url, 'push', push, 'release-1');
  await queue.onIdle();
  await deliver(ours.url, 'workflow_run', run, 'release-2');
  await queue.onIdle();
  const mergeSha = github.merge(MODEL, 1);
  const closed = example('pull_request.closed', MODEL);
  const pull = github.repo(MODEL).pulls[0];
  if (!pull) throw new Error('the release opened no PR');
  const head = closed.pull_request.head;
  Object.assign(closed.pull_request, {
    number: pull.number,
    merged: true,
    merge_commit_sha: mergeSha,
    head: { ...head, ref: pull.head.ref, sha: pull.head.sha, repo: { ...head.repo, full_name: MODEL } },
    base: { ...closed.pull_request.base, ref: 'main' },
  });
  await deliver(ours.url, 'pull_request', closed, 'release-3');
  await queue.onIdle();
  const refused = github
    .repo(MODEL)
    .deployments.find((deployment) => deployment.statuses.some((status) => status.state === 'failure'));
  if (refused)
    throw new Error(`the release did not deploy: ${refused.environment} ${refused.statuses.at(-1)?.description}`);
  const calls = apiCalls(github.calls);
  const writes = calls.filter(isWrite);
  if (process.env.EDGESHIP_BENCH_CALLS) for (const call of calls) console.log(`${call.method} ${call.path}`);
  events.push(['pull_request', closed]);

  const rows: string[][] = [];
  for (const [event, payload] of events) {
    const oursMs: number[] = [];
    const bareMs: number[] = [];
    for (let index = 0; index < DELIVERIES; index += 1) {
      // Alternate so drift in machine speed hits both alike; replays are what GitHub sends on retry.
      bareMs.push(await deliver(bare.url, event, payload, `bare-${event}-${index}`));
      oursMs.push(await deliver(ours.url, event, payload, `ours-${event}-${index}`));
    }
    await queue.onIdle();
    const p99 = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        99,
      );
    rows.push([event, p99(bareMs).toFixed(2), p99(oursMs).toFixed(2), (p99(oursMs) / p99(bareMs)).toFixed(2)]);
  }
  ours.server.close();
  bare.server.close();
  github.done();

  console.log(
    `\nGitHub API calls from push to the first wave of the example model (push → PR → merge → GitOps commit, deployments, fleet dashboard; 4 targets): ${calls.length} (aim ≤ 20), of which content-creating ${writes.length} (aim ≤ 8)`,
  );
  console.log(
    `Webhook answer time over HTTP, p99 of ${DELIVERIES} signed deliveries each (aim ≤ 100 ms), vs a no-op Probot app:`,
  );
  const header = ['event', 'no-op app p99 ms', 'edgeship p99 ms', 'ratio'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '));
}
