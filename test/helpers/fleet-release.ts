/**
 * One whole release of the example model to a fleet of `size` edge sites and a cloud target,
 * in three waves (1%, 10%, the rest), through the app against the fake GitHub: push, dispatch,
 * run completed, release PR, merge and the pushes GitHub sends, the GitOps commit, every wave
 * once Argo CD reports the last Synced and Healthy through its soak, done. For the tests and the
 * bench that measure what a release costs on GitHub as the fleet grows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { OnnxInspector } from '../../src/adapters/onnx/inspector.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { parseConfig } from '../../src/core/config-parse.ts';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { evaluate } from '../../src/services/evaluate.ts';
import type { FleetState, FleetStatus } from '../../src/ports.ts';
import { GITHUB_LIMITS } from '../../src/core/github-limits.ts';
import type { FakeGitHub } from './fake-github.ts';
import { fakeProfiler, silentProgress } from './fakes.ts';
import { ROOT } from './fixtures.ts';
import { example, testProbot } from './webhooks.ts';

export const FLEET_MODEL_REPO = 'acme/pump-model';
export const FLEET_GITOPS_REPO = 'acme/gitops';
const WORKFLOW = 'edgeship-train.yml';
const DIGEST = `sha256:${'d'.repeat(64)}`;
const RECORD = 'models/pump-forecaster/release.yaml';
const SOAK_MS = 16 * 60_000;

/**
 * The example config with `size` sites (a tenth on a tight budget, offloaded) and a cloud target,
 * in waves of 1%, 10% and the rest; `analysis` is the rollout's analysis (a YAML flow mapping).
 */
export async function fleetConfigText(size: number, analysis?: string): Promise<string> {
  const example = await readFile(join(ROOT, 'model-repo-example/.github/edgeship.yml'), 'utf8');
  const sites = Array.from({ length: size }, (_, index) =>
    index % 10 === 0
      ? `  - { name: site-${index}, kind: edge, profile: jetson-xavier-nx, memoryBudgetMb: 192, latencyBudgetMs: 2, rttMs: 0.2, labels: { ring: main } }`
      : `  - { name: site-${index}, kind: edge, profile: jetson-orin-nano, memoryBudgetMb: 256, latencyBudgetMs: 25, rttMs: 35, labels: { ring: main } }`,
  );
  const targets = [
    'targets:',
    ...sites,
    '  - { name: cloud, kind: cloud, profile: cloud-cpu, latencyBudgetMs: 10, endpoint: "https://models.example/pump", labels: { ring: main } }',
  ];
  const waves = [
    'rollout:',
    '  waves:',
    '    - { name: canary, selector: { ring: main }, percent: 1, soakMinutes: 15 }',
    '    - { name: ten, selector: { ring: main }, percent: 10, soakMinutes: 15 }',
    '    - { name: rest, selector: { ring: main } }',
    ...(analysis ? [`  analysis: ${analysis}`] : []),
  ];
  return example
    .replace(/^targets:[\s\S]*?(?=^gitops:)/m, `${[...targets, '', ...waves].join('\n')}\n\n`)
    .replace('repo: edgeship-demo/gitops', `repo: ${FLEET_GITOPS_REPO}`);
}

/** Argo CD that syncs the GitOps head when told, every Application Healthy from then on but those `degraded` names. */
export class SyncingFleet implements FleetStatus {
  private synced: { revision: string; since: number } | undefined;
  readonly degraded = new Set<string>();
  constructor(private readonly clock: { now: number }) {}

  sync(revision: string): void {
    this.synced = { revision, since: this.clock.now };
  }

  async states(targets: string[]): Promise<Map<string, FleetState>> {
    const { synced } = this;
    const state: FleetState = synced
      ? { sync: 'Synced', health: 'Healthy', revision: synced.revision, healthySince: synced.since }
      : { sync: 'Unknown', health: 'Missing' };
    return new Map(
      targets.map((target) => [
        target,
        this.degraded.has(target) && synced ? { sync: 'Synced', health: 'Degraded', revision: synced.revision } : state,
      ]),
    );
  }
}

export interface FleetReleaseResult {
  /** Rollout ticks until the release record said done. */
  ticks: number;
  report: EvaluationReport;
}

/**
 * The world of one fleet release: the repos on the fake GitHub, the app with Argo CD and a
 * clock it reads, and `run()` to take a release from push to done.
 */
export class FleetRelease {
  readonly clock = { now: Date.parse('2026-12-07T09:00:00Z') };
  readonly fleet = new SyncingFleet(this.clock);
  readonly app: ReturnType<typeof testProbot>;

  constructor(
    readonly github: FakeGitHub,
    readonly size: number,
    /** A directory of training outputs of the example model (model.onnx, metrics.json, …). */
    private readonly outputs: string,
    options: Parameters<typeof testProbot>[0] = {},
    /** The rollout's analysis, as fleetConfigText takes it. */
    private readonly analysis?: string,
  ) {
    this.app = testProbot({ fleetFor: () => this.fleet, now: () => this.clock.now, ...options });
  }

  async run(): Promise<FleetReleaseResult> {
    const report = await this.start();
    let ticks = 0;
    while (this.rolloutStatus() !== 'done') {
      if (++ticks > 10)
        throw new Error(`the rollout did not finish in 10 ticks: ${this.rolloutStatus() ?? 'no release record'}`);
      await this.tick();
    }
    return { ticks, report };
  }

  /** Argo CD syncs the GitOps head, the soak passes, and the app's rollout timer fires once. */
  async tick(): Promise<void> {
    this.fleet.sync(this.github.repo(FLEET_GITOPS_REPO).branches.get('main') ?? '');
    this.clock.now += SOAK_MS;
    await this.app.tick();
  }

  /** The example model evaluated against this world's config, as the training run's report step does. */
  async evaluated(): Promise<EvaluationReport> {
    const configText = await fleetConfigText(this.size, this.analysis);
    return evaluate(
      {
        inspector: new OnnxInspector(),
        profiler: fakeProfiler({ 'jetson-xavier-nx': 3, 'jetson-orin-nano': 2, 'cloud-cpu': 1 }),
        progress: silentProgress,
      },
      {
        config: parseConfig(configText, 'edgeship.yml'),
        outputs: await collectOutputs(this.outputs),
        provenance: { trainedAt: '2026-12-07T08:00:00.000Z' },
      },
    );
  }

  /** Push, training, the release PR and its merge: the first wave goes out. */
  async start(): Promise<EvaluationReport> {
    const { github, app } = this;
    const configText = await fleetConfigText(this.size, this.analysis);
    const sha = github.commit(FLEET_MODEL_REPO, 'main', {
      '.github/edgeship.yml': configText,
      'train.py': 'print(1)\n',
    });
    github.commit(FLEET_GITOPS_REPO, 'main', { 'README.md': '# GitOps\n' });
    const report = await this.evaluated();
    const published = {
      ...report,
      artifact: { reference: `ghcr.io/acme/models/pump-forecaster@${DIGEST}`, digest: DIGEST },
    };

    const push = example('push', FLEET_MODEL_REPO);
    Object.assign(push, {
      ref: 'refs/heads/main',
      after: sha,
      deleted: false,
      head_commit: { ...push.head_commit, id: sha },
    });
    await app.receive('push', push);
    await app.settle();
    const runId = github.addRun(FLEET_MODEL_REPO, {
      head_sha: sha,
      head_branch: 'main',
      status: 'completed',
      workflow: WORKFLOW,
    });
    github.addArtifact(
      FLEET_MODEL_REPO,
      runId,
      'edgeship-report',
      zipSync({ 'report.json': Buffer.from(JSON.stringify(published)) }),
    );
    const completed = example('workflow_run.completed', FLEET_MODEL_REPO);
    Object.assign(completed.workflow_run, {
      id: runId,
      head_sha: sha,
      head_branch: 'main',
      path: `.github/workflows/${WORKFLOW}`,
      conclusion: 'success',
      status: 'completed',
      html_url: `https://github.com/${FLEET_MODEL_REPO}/actions/runs/${runId}`,
      head_repository: { ...completed.workflow_run.head_repository, full_name: FLEET_MODEL_REPO },
    });
    await app.receive('workflow_run.completed', completed);
    await app.settle();

    const pull = github.repo(FLEET_MODEL_REPO).pulls[0];
    if (!pull)
      throw new Error(
        `no release PR was opened: ${JSON.stringify(github.repo(FLEET_MODEL_REPO).checkRuns.map((check) => check.output.title))}`,
      );
    const before = github.repo(FLEET_MODEL_REPO).branches.get('main') ?? '';
    const mergeSha = github.merge(FLEET_MODEL_REPO, pull.number);
    const closed = example('pull_request.closed', FLEET_MODEL_REPO);
    const head = closed.pull_request.head;
    Object.assign(closed.pull_request, {
      number: pull.number,
      merged: true,
      merge_commit_sha: mergeSha,
      head: { ...head, ref: pull.head.ref, sha: pull.head.sha, repo: { ...head.repo, full_name: FLEET_MODEL_REPO } },
      base: { ...closed.pull_request.base, ref: 'main' },
    });
    await app.receive('pull_request.closed', closed);
    const pushed = example('push', FLEET_MODEL_REPO);
    const moved = github.pushOf(FLEET_MODEL_REPO, 'main', before);
    Object.assign(pushed, {
      ...moved,
      deleted: false,
      created: false,
      head_commit: { ...pushed.head_commit, id: moved.after, ...moved.commits[0] },
      commits: moved.commits.map((commit) => ({ ...pushed.head_commit, ...commit })),
    });
    await app.receive('push', pushed);
    await app.settle();
    return published;
  }

  /** One more tick over the finished rollout: what a fleet that does not change costs. */
  async idleTick(): Promise<void> {
    this.clock.now += SOAK_MS;
    await this.app.tick();
  }

  rolloutStatus(): string | undefined {
    const text = this.github.file(FLEET_GITOPS_REPO, 'main', RECORD);
    return text === undefined ? undefined : parseReleaseRecord(text, RECORD).rollout?.status;
  }
}

/** Every text the app left on the model repo, with the limit GitHub holds it to. */
export function textsOf(github: FakeGitHub): { where: string; text: string; limit: number }[] {
  const repo = github.repo(FLEET_MODEL_REPO);
  return [
    ...repo.pulls.flatMap((pull) => [
      { where: `PR #${pull.number} body`, text: pull.body, limit: GITHUB_LIMITS.body },
      { where: `PR #${pull.number} title`, text: pull.title, limit: GITHUB_LIMITS.title },
    ]),
    ...[...repo.comments].flatMap(([issue, comments]) =>
      comments.map((comment) => ({ where: `comment on #${issue}`, text: comment.body, limit: GITHUB_LIMITS.body })),
    ),
    ...repo.issues.map((issue) => ({
      where: `issue #${issue.number} body`,
      text: issue.body,
      limit: GITHUB_LIMITS.body,
    })),
    ...repo.checkRuns.flatMap((run) => [
      { where: `${run.name} summary`, text: run.output.summary, limit: GITHUB_LIMITS.checkOutput },
      { where: `${run.name} text`, text: run.output.text ?? '', limit: GITHUB_LIMITS.checkOutput },
    ]),
    ...repo.deployments.flatMap((deployment) =>
      deployment.statuses.map((status) => ({
        where: `${deployment.environment} status`,
        text: status.description,
        limit: GITHUB_LIMITS.deploymentDescription,
      })),
    ),
  ];
}
