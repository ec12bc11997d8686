import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { zipSync } from 'fflate';
import { inject } from 'vitest';
import { parseConfig } from '../../src/core/config-parse.ts';
import type { ModelContract } from '../../src/core/contract.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { proposalDigest } from '../../src/core/release-integrity.ts';
import { planGitOpsChange } from '../../src/services/apply.ts';
import { MemoryStore } from './fakes.ts';
import { FakeGitHub } from './fake-github.ts';
import { example, testProbot } from './webhooks.ts';

export const MODEL_REPO = 'acme/pump-model';
export const GITOPS_REPO = 'acme/gitops';
export const WORKFLOW = 'edgeship-train.yml';
import { DIGEST, evaluationReport, exampleConfigText } from './evaluation-report.ts';

export { DIGEST, evaluationReport, exampleConfigText };

/** A model repo and a GitOps repo on the fake GitHub, the app, and the events of one release. */
export class ReleaseWorld {
  readonly app: ReturnType<typeof testProbot>;
  sha = '';

  constructor(
    readonly github: FakeGitHub,
    options: Parameters<typeof testProbot>[0] = {},
  ) {
    this.app = testProbot(options);
  }

  async seed(): Promise<this> {
    this.sha = this.github.commit(MODEL_REPO, 'main', {
      '.github/edgeship.yml': await exampleConfigText(),
      'train.py': 'print(1)\n',
    });
    this.github.commit(GITOPS_REPO, 'main', { 'README.md': '# GitOps\n' });
    return this;
  }

  get model() {
    return this.github.repo(MODEL_REPO);
  }

  push(after = this.sha, ref = 'refs/heads/main', repo = MODEL_REPO) {
    const payload = example('push', repo);
    Object.assign(payload, { ref, after, deleted: false, head_commit: { ...payload.head_commit, id: after } });
    return payload;
  }

  /** The push GitHub sends for `branch` moving on from `before` (a merge, the app's own commits). */
  pushed(branch: string, before: string) {
    const payload = example('push', MODEL_REPO);
    const push = this.github.pushOf(MODEL_REPO, branch, before);
    Object.assign(payload, {
      ...push,
      deleted: false,
      created: false,
      head_commit: { ...payload.head_commit, id: push.after, ...push.commits[0] },
      commits: push.commits.map((commit) => ({ ...payload.head_commit, ...commit })),
    });
    return payload;
  }

  runCompleted(runId: number, headSha = this.sha, conclusion = 'success', headRepo = MODEL_REPO) {
    const payload = example('workflow_run.completed', MODEL_REPO);
    Object.assign(payload.workflow_run, {
      id: runId,
      head_sha: headSha,
      head_branch: 'main',
      path: `.github/workflows/${WORKFLOW}`,
      conclusion,
      status: 'completed',
      html_url: `https://github.com/${MODEL_REPO}/actions/runs/${runId}`,
      head_repository: { ...payload.workflow_run.head_repository, full_name: headRepo },
    });
    return payload;
  }

  merged(number: number, mergeSha: string) {
    const pull = this.model.pulls.find((candidate) => candidate.number === number);
    if (!pull) throw new Error(`no PR #${number}`);
    const payload = example('pull_request.closed', MODEL_REPO);
    const head = payload.pull_request.head;
    Object.assign(payload.pull_request, {
      number,
      merged: true,
      merge_commit_sha: mergeSha,
      head: { ...head, ref: pull.head.ref, sha: pull.head.sha, repo: { ...head.repo, full_name: MODEL_REPO } },
      base: { ...payload.pull_request.base, ref: pull.base.ref },
    });
    return payload;
  }

  /** The GitOps repo already runs `report` everywhere, its rollout done. */
  async deployed(report: EvaluationReport): Promise<void> {
    const config = parseConfig(await exampleConfigText(), 'edgeship.yml');
    const change = planGitOpsChange(config, report, {
      rollout: { status: 'done', waves: { canary: 't0', plants: 't0', cloud: 't0' } },
    });
    const writes = await change(async (path) => this.github.file(GITOPS_REPO, 'main', path));
    this.github.commit(GITOPS_REPO, 'main', Object.fromEntries(writes.map((write) => [write.path, write.content])));
  }

  /** A release PR of `report` that was merged: its branch, the PR and the merge commit. */
  mergedRelease(report: EvaluationReport): { number: number; mergeSha: string } {
    const branch = `edgeship/release/${report.model}/${report.version.version}-${this.sha.slice(0, 7)}`;
    // As the app writes it: provenance names the commit trained, which names the branch.
    const record = JSON.stringify({
      ...report,
      provenance: { ...report.provenance, commit: this.sha, branch: 'main' },
    });
    const head = this.github.commit(MODEL_REPO, branch, {
      ...Object.fromEntries(this.github.repo(MODEL_REPO).commits.get(this.sha) ?? []),
      '.edgeship/release.json': record,
    });
    // As the app records the release it wrote: its gates check run on the head carries the record's digest.
    this.github.addCheckRun(MODEL_REPO, {
      head_sha: head,
      name: 'edgeship/gates',
      external_id: proposalDigest(record),
    });
    const number = this.github.nextNumber(MODEL_REPO);
    this.model.pulls.push({
      number,
      head: { ref: branch, sha: head },
      base: { ref: 'main' },
      title: `release(${report.model}): ${report.version.version}`,
      body: '',
      state: 'open',
      merged_at: null,
      merge_commit_sha: null,
      html_url: `https://github.com/${MODEL_REPO}/pull/${number}`,
      labels: [],
      requested_teams: [],
    });
    return { number, mergeSha: this.github.merge(MODEL_REPO, number) };
  }

  /** A successful training run of `headSha` that uploaded the evaluation report (the example's, or `report`). */
  async finishRun(headSha = this.sha, report?: EvaluationReport): Promise<number> {
    const runId = this.github.addRun(MODEL_REPO, {
      head_sha: headSha,
      head_branch: 'main',
      status: 'completed',
      workflow: WORKFLOW,
    });
    this.github.addArtifact(
      MODEL_REPO,
      runId,
      'edgeship-report',
      zipSync({ 'report.json': Buffer.from(JSON.stringify(report ?? (await evaluationReport()))) }),
    );
    return runId;
  }
}

/**
 * A world whose GitOps repo runs the example release as 1.0.0, its artifact (model.onnx,
 * metrics.json, contract.json) in a store the app reads the baseline from. `deployed` may
 * change the model bytes or the contract of that artifact.
 */
export async function deployedWorld(
  scratch: string,
  deployed: { modelBytes?: (bytes: Buffer) => Buffer; contract?: (contract: ModelContract) => ModelContract } = {},
) {
  const store = new MemoryStore(join(scratch, 'store'));
  const report = await evaluationReport();
  const outputs = inject('exampleOutputs');
  await writeFile(
    join(scratch, 'contract.json'),
    JSON.stringify(deployed.contract?.(report.candidate.contract) ?? report.candidate.contract),
  );
  const model = await readFile(join(outputs, 'model.onnx'));
  await writeFile(join(scratch, 'model.onnx'), deployed.modelBytes?.(model) ?? model);
  const files = [join(scratch, 'model.onnx'), join(outputs, 'metrics.json'), join(scratch, 'contract.json')].map(
    (path) => ({ name: basename(path), mediaType: 'application/octet-stream', path }),
  );
  const artifact = await store.push({ name: 'pump-forecaster', tag: '1.0.0', files, config: {} });
  const github = new FakeGitHub();
  const world = await new ReleaseWorld(github, { storeFor: () => store }).seed();
  await world.deployed({ ...report, artifact });
  return { github, world, report };
}
