import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { apiCalls, FakeGitHub, isWrite } from '../helpers/fake-github.ts';
import {
  DIGEST,
  exampleConfigText,
  GITOPS_REPO,
  MODEL_REPO,
  ReleaseWorld,
  WORKFLOW,
} from '../helpers/release-world.ts';

describe('the GitHub App release flow', () => {
  let github: FakeGitHub;
  let world: ReleaseWorld;
  let app: ReleaseWorld['app'];
  let sha: string;

  beforeEach(async () => {
    github = new FakeGitHub();
    world = await new ReleaseWorld(github).seed();
    app = world.app;
    sha = world.sha;
  });
  afterEach(() => github.done());

  const pushPayload = (after = sha, ref = 'refs/heads/main', repo = MODEL_REPO) => world.push(after, ref, repo);
  const runPayload = (runId: number, headSha = sha, conclusion = 'success', headRepo = MODEL_REPO) =>
    world.runCompleted(runId, headSha, conclusion, headRepo);
  const closedPayload = (number: number, mergeSha: string) => world.merged(number, mergeSha);
  const finishRun = (headSha = sha) => world.finishRun(headSha);

  it('push → training dispatch → release PR → merge → GitOps commit and deployments', async () => {
    await app.receive('push', pushPayload());
    await app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.dispatches).toEqual([
      {
        workflow: WORKFLOW,
        ref: 'main',
        inputs: {
          sha,
          run_key: expect.stringMatching(/^pump-forecaster-[0-9a-f]{12}-[0-9a-f]{8}$/) as string,
          reason: 'push',
        },
      },
    ]);
    expect(model.checkRuns).toMatchObject([
      {
        name: 'edgeship/train',
        head_sha: sha,
        status: 'in_progress',
        external_id: model.dispatches[0]?.inputs.run_key,
      },
    ]);

    const runId = await finishRun();
    await app.receive('workflow_run.completed', runPayload(runId));
    await app.settle();
    const branch = `edgeship/release/pump-forecaster/1.0.0-${sha.slice(0, 7)}`;
    expect(model.pulls).toMatchObject([
      {
        number: 1,
        head: { ref: branch },
        base: { ref: 'main' },
        title: 'release(pump-forecaster): 1.0.0',
        state: 'open',
        labels: [],
      },
    ]);
    expect(model.pulls[0]?.body).toContain('## pump-forecaster 1.0.0');
    expect(model.pulls[0]?.body).toContain('| substation-east | 🟢 edge |');
    const record = JSON.parse(github.file(MODEL_REPO, branch, '.edgeship/release.json')!) as EvaluationReport;
    expect(record).toMatchObject({
      model: 'pump-forecaster',
      version: { version: '1.0.0' },
      artifact: { digest: DIGEST },
      provenance: { commit: sha, runUrl: `https://github.com/${MODEL_REPO}/actions/runs/${runId}` },
    });
    const checks = Object.fromEntries(
      model.checkRuns.map((check) => [`${check.name}@${check.head_sha === sha ? 'push' : 'pr'}`, check]),
    );
    expect(checks['edgeship/train@push']).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      output: { title: 'Release PR #1' },
    });
    expect(checks['edgeship/gates@pr']).toMatchObject({
      status: 'completed',
      conclusion: 'success',
      head_sha: model.branches.get(branch),
    });

    const mergeSha = github.merge(MODEL_REPO, 1);
    await app.receive('pull_request.closed', closedPayload(1, mergeSha));
    await app.settle();
    // No Argo CD to watch here: the merge sends the canary wave, and later waves wait for `/edgeship promote`.
    const deployed = parseReleaseRecord(
      github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')!,
      'release.yaml',
    );
    expect(github.file(GITOPS_REPO, 'main', 'sites/substation-east/pump-forecaster/kustomization.yaml')).toContain(
      `EDGESHIP_MODEL=ghcr.io/acme/models/pump-forecaster@${DIGEST}`,
    );
    expect(github.file(GITOPS_REPO, 'main', 'sites/plant-north/pump-forecaster/kustomization.yaml')).toBeUndefined();
    expect(deployed).toMatchObject({
      version: '1.0.0',
      artifact: { digest: DIGEST },
      rollout: { status: 'rolling-out' },
      targets: { 'substation-east': { placement: 'edge' } },
    });
    expect(Object.keys(deployed.targets)).toEqual(['substation-east']);
    // One deployment per wave, described by its counts; rolling out, it has no status (GitHub shows it pending).
    expect(
      model.deployments.map((deployment) => [
        deployment.environment,
        deployment.ref,
        deployment.statuses.map((status) => status.state),
      ]),
    ).toEqual([
      ['pump-forecaster/canary', mergeSha, []],
      // The waves still queued get theirs when they go out.
    ]);
    expect(model.deployments[0]?.description).toBe('pump-forecaster, wave canary: 1.0.0 to 1 target: 1 rolling out');
    const gitopsHead = github.repo(GITOPS_REPO).branches.get('main')!;
    expect(model.deployments[0]?.payload).toMatchObject({
      model: 'pump-forecaster',
      version: '1.0.0',
      wave: 'canary',
      targets: 1,
      placements: { edge: 1 },
      gitops: `https://github.com/${GITOPS_REPO}/commit/${gitopsHead}`,
    });
    // The waves are on the fleet dashboard, not in a comment each; it says why the release deploys.
    expect(model.comments.get(1)).toBeUndefined();
    expect(model.issues.map((issue) => issue.body)).toEqual([
      expect.stringContaining(
        'It deploys because `main` requires 1 approving review before a merge (a ruleset of acme/pump-model). edgeship cannot read Argo CD from here',
      ),
    ]);

    // What push to the first wave costs: every write (9), and a ceiling on all calls (the aim: 20).
    // Reads are folded into one GraphQL query per step; the branch, commit and PR are one request.
    // The training check is opened queued and marked in progress once the dispatch went out.
    const writes = github.calls.filter(isWrite).map(
      (call) =>
        `${call.method} ${call.path
          .replace(/\/\d+(\/|$)/g, '/:id$1')
          .replace(MODEL_REPO, 'model')
          .replace(GITOPS_REPO, 'gitops')}`,
    );
    expect(writes.sort()).toEqual([
      'PATCH /repos/model/check-runs/:id',
      'PATCH /repos/model/check-runs/:id',
      'POST /graphql',
      'POST /graphql',
      'POST /repos/model/actions/workflows/edgeship-train.yml/dispatches',
      'POST /repos/model/check-runs',
      'POST /repos/model/check-runs',
      'POST /repos/model/deployments', // the first wave's; a queued wave has none yet
      'POST /repos/model/issues',
    ]);
    expect(apiCalls(github.calls).length).toBeLessThanOrEqual(20);
  });

  it('turns a broken config into a failed check run that says what to fix, and dispatches nothing', async () => {
    const broken = github.commit(MODEL_REPO, 'main', {
      '.github/edgeship.yml': (await exampleConfigText()).replace('latencyBudgetMs: 6', 'latencyBudgetMs: fast'),
    });
    await app.receive('push', pushPayload(broken));
    await app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.dispatches).toHaveLength(0);
    expect(model.checkRuns[0]).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
      output: { title: 'Invalid .github/edgeship.yml' },
    });
    expect(model.checkRuns[0]?.output.text).toMatch(
      /targets\[2\]\.latencyBudgetMs \(line \d+\): expected number, found "fast"/,
    );
  });

  it('ignores pushes to untracked branches and repos without a config', async () => {
    await app.receive('push', pushPayload(sha, 'refs/heads/experiment'));
    const plain = github.commit('acme/other', 'main', { 'README.md': 'hi' });
    await app.receive('push', pushPayload(plain, 'refs/heads/main', 'acme/other'));
    await app.settle();
    expect(github.repo(MODEL_REPO).dispatches).toHaveLength(0);
    expect(github.repo('acme/other').checkRuns).toHaveLength(0);
  });

  it("leaves cancelling the older unfinished run to the workflow's concurrency group, which the template declares", async () => {
    github.addRun(MODEL_REPO, { head_sha: sha, head_branch: 'main', status: 'in_progress', workflow: WORKFLOW });
    const newer = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(2)\n' });
    await app.receive('push', pushPayload(newer));
    await app.settle();
    expect(github.repo(MODEL_REPO).dispatches.map((dispatch) => dispatch.inputs.sha)).toEqual([newer]);
    expect(github.calls.filter((call) => call.path.includes('/actions/runs'))).toEqual([]);
    const workflow = parse(
      await readFile(new URL('../../templates/workflows/edgeship-train.yml', import.meta.url), 'utf8'),
    ) as { concurrency?: unknown };
    expect(workflow.concurrency).toEqual({
      group: 'edgeship-train-${{ github.ref_name }}',
      'cancel-in-progress': true,
    });
  });

  it("does not train a push the branch has moved on from (a late redelivery): its run would cancel the head's", async () => {
    const newer = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(2)\n' });
    await app.receive('push', pushPayload(newer));
    await app.receive('push', pushPayload(sha));
    await app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.dispatches.map((dispatch) => dispatch.inputs.sha)).toEqual([newer]);
    expect(model.checkRuns.find((check) => check.head_sha === sha)).toMatchObject({
      name: 'edgeship/train',
      conclusion: 'neutral',
      output: {
        title: 'Superseded',
        summary: `Not trained: \`main\` is at ${newer.slice(0, 7)} now, which trains instead.`,
      },
    });
  });

  it('keeps the newer release when an older run completes after a newer push', async () => {
    const runId = await finishRun(sha);
    github.commit(MODEL_REPO, 'main', { 'train.py': 'print(3)\n' });
    await app.receive('workflow_run.completed', runPayload(runId, sha));
    await app.settle();
    const model = github.repo(MODEL_REPO);
    expect(model.pulls).toHaveLength(0);
    expect(model.checkRuns).toMatchObject([
      { name: 'edgeship/train', head_sha: sha, conclusion: 'neutral', output: { title: 'Superseded' } },
    ]);
  });

  it('fails edgeship/train with a link to the logs when the run failed', async () => {
    const runId = github.addRun(MODEL_REPO, {
      head_sha: sha,
      head_branch: 'main',
      status: 'completed',
      workflow: WORKFLOW,
    });
    await app.receive('workflow_run.completed', runPayload(runId, sha, 'failure'));
    await app.settle();
    expect(github.repo(MODEL_REPO).checkRuns[0]).toMatchObject({
      conclusion: 'failure',
      output: { title: 'Training failed', summary: expect.stringContaining(`/actions/runs/${runId}`) as string },
    });
  });

  it('never releases from a fork', async () => {
    const runId = await finishRun();
    await app.receive('workflow_run.completed', runPayload(runId, sha, 'success', 'mallory/pump-model'));
    await app.settle();
    expect(github.calls.filter((call) => !call.path.includes('access_tokens'))).toEqual([]);
  });

  it("does not train on the pushes a release sends: the app's own release branch, the merge commit", async () => {
    await app.receive('push', pushPayload());
    await app.settle();
    await app.receive('workflow_run.completed', runPayload(await finishRun()));
    await app.settle();
    const model = github.repo(MODEL_REPO);
    const branch = model.pulls[0]!.head.ref;
    // GitHub sends a push for the branch the app wrote, and one for the merge commit on main.
    await app.receive('push', world.pushed(branch, sha));
    const before = model.branches.get('main')!;
    const mergeSha = github.merge(MODEL_REPO, 1);
    await app.receive('pull_request.closed', closedPayload(1, mergeSha));
    await app.receive('push', world.pushed('main', before));
    await app.settle();
    expect(model.dispatches).toHaveLength(1);
    expect(model.pulls).toHaveLength(1);
    expect(
      model.checkRuns.find((check) => check.name === 'edgeship/train' && check.head_sha === mergeSha),
    ).toMatchObject({
      conclusion: 'neutral',
      output: {
        title: 'Not trained',
        summary:
          'This push changed no file that `train.paths` (**, !.edgeship/**) trains on, such as the merge of a release PR.',
      },
    });
    // A change to the code on top trains again.
    const code = github.commit(MODEL_REPO, 'main', { 'train.py': 'print(2)\n' });
    await app.receive('push', world.pushed('main', mergeSha));
    await app.settle();
    expect(model.dispatches.map((dispatch) => dispatch.inputs.sha)).toEqual([sha, code]);
  });

  it('does everything once when each delivery is replayed 50 times, also concurrently', async () => {
    const push = pushPayload();
    await Promise.all(Array.from({ length: 25 }, () => app.receive('push', push)));
    for (let index = 0; index < 25; index += 1) await app.receive('push', push);
    await app.settle();
    const runId = await finishRun();
    await Promise.all(Array.from({ length: 50 }, () => app.receive('workflow_run.completed', runPayload(runId))));
    await app.settle();
    const mergeSha = github.merge(MODEL_REPO, 1);
    await Promise.all(Array.from({ length: 50 }, () => app.receive('pull_request.closed', closedPayload(1, mergeSha))));
    await app.settle();

    const model = github.repo(MODEL_REPO);
    expect(model.dispatches).toHaveLength(1);
    expect(model.pulls).toHaveLength(1);
    expect(github.count('POST', /^\/graphql$/)).toBeGreaterThanOrEqual(2);
    expect(github.repo(GITOPS_REPO).commits.size).toBe(2); // the seed and one release commit
    expect(model.deployments.map((deployment) => deployment.environment)).toEqual(['pump-forecaster/canary']);
    expect(model.comments.get(1)).toBeUndefined();
    expect(model.issues).toHaveLength(1);
  });
});
