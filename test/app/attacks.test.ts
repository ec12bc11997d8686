import { Readable } from 'node:stream';
import { parseAppSettings } from '../../src/compose/app-settings.ts';
import { zipSync } from 'fflate';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflateRaw } from 'node:zlib';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trainingFrom } from '../../src/app/training-clusters.ts';
import { policyStoreForReference } from '../../src/adapters/oci/index.ts';
import { RegistryClient } from '../../src/adapters/oci/registry-client.ts';
import { operatorPolicySchema } from '../../src/core/policy.ts';
import { proposalDigest } from '../../src/core/release-integrity.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { startAttacker } from '../helpers/attacker.ts';
import { ACTIONS_APP, FakeGitHub } from '../helpers/fake-github.ts';
import {
  evaluationReport,
  exampleConfigText,
  GITOPS_REPO,
  MODEL_REPO,
  ReleaseWorld,
  WORKFLOW,
} from '../helpers/release-world.ts';
import { TEST_POLICY } from '../helpers/webhooks.ts';

const OPERATOR = { username: 'operator', password: 'operator-registry-secret' };
const DIGEST = `sha256:${'e'.repeat(64)}`;

/** Tried as a repo writer with write access to one model repo: each attack, and the safe outcome. */
describe('a repo writer cannot', () => {
  let github: FakeGitHub;
  let attacker: Awaited<ReturnType<typeof startAttacker>>;

  beforeEach(async () => {
    github = new FakeGitHub();
    nock.enableNetConnect('127.0.0.1');
    attacker = await startAttacker();
  });
  afterEach(async () => {
    await attacker.stop();
    github.done();
  });

  /** A hand-written release proposal that would deploy the attacker's artifact. */
  const forged = async (): Promise<EvaluationReport> => ({
    ...(await evaluationReport()),
    version: { version: '9.9.9', bump: 'major', reason: 'forged' },
    artifact: { reference: `ghcr.io/evil/backdoor@${DIGEST}`, digest: DIGEST },
  });

  it('deploy a hand-made release branch, even merged into a branch of their own and with a look-alike gates check', async () => {
    const world = await new ReleaseWorld(github).seed();
    const record = JSON.stringify(await forged());
    const branch = 'edgeship/release/pump-forecaster/9.9.9-abcdef0';
    github.commit(MODEL_REPO, 'evil', { ...Object.fromEntries(world.model.commits.get(world.sha) ?? []) });
    const head = github.commit(MODEL_REPO, branch, {
      ...Object.fromEntries(world.model.commits.get(world.sha) ?? []),
      '.edgeship/release.json': record,
    });
    // A workflow's GITHUB_TOKEN can make a check run of the same name and external id: it is not the app's.
    github.addCheckRun(MODEL_REPO, {
      head_sha: head,
      name: 'edgeship/gates',
      external_id: proposalDigest(record),
      app: ACTIONS_APP,
    });
    for (const base of ['evil', 'main']) {
      const number = world.model.pulls.length + 1;
      world.model.pulls.push({
        number,
        head: { ref: branch, sha: head },
        base: { ref: base },
        title: 'release',
        body: '',
        state: 'open',
        merged_at: null,
        merge_commit_sha: null,
        html_url: `https://github.com/${MODEL_REPO}/pull/${number}`,
        labels: [],
        requested_teams: [],
      });
      const mergeSha = github.merge(MODEL_REPO, number);
      await world.app.receive('pull_request.closed', world.merged(number, mergeSha));
      await world.app.settle();
      expect(world.model.comments.get(number)?.[0]?.body).toContain(
        `edgeship did not deploy #${number}: the PR head ${head.slice(0, 7)} is not a release commit edgeship wrote`,
      );
      expect(
        world.model.deployments
          .filter((deployment) => deployment.ref === mergeSha)
          .map((deployment) => [deployment.environment, deployment.statuses[0]?.state]),
      ).toEqual(['canary', 'plants', 'cloud'].map((wave) => [`pump-forecaster/${wave}`, 'failure']));
    }
    expect(
      [...github.repo(GITOPS_REPO).commits.values()].some((files) => files.has('models/pump-forecaster/release.yaml')),
    ).toBe(false);
  });

  /** The writer's branch with its own config: pushed, and a finished run of it, as the writer can start one. */
  const trainOn = async (world: ReleaseWorld, branch: string, config: string) => {
    const sha = github.commit(MODEL_REPO, branch, {
      ...Object.fromEntries(world.model.commits.get(world.sha) ?? []),
      '.github/edgeship.yml': config,
    });
    await world.app.receive('push', world.push(sha, `refs/heads/${branch}`));
    await world.app.settle();
    const runId = github.addRun(MODEL_REPO, {
      head_sha: sha,
      head_branch: branch,
      status: 'completed',
      workflow: WORKFLOW,
    });
    github.addArtifact(
      MODEL_REPO,
      runId,
      'edgeship-report',
      zipSync({ 'report.json': Buffer.from(JSON.stringify(await evaluationReport())) }),
    );
    const completed = world.runCompleted(runId, sha);
    completed.workflow_run.head_branch = branch;
    await world.app.receive('workflow_run.completed', completed);
    await world.app.settle();
    return sha;
  };
  const tracking = (text: string, branches: string) => text.replace('branches: [main]', `branches: [${branches}]`);
  const released = () =>
    [...github.repo(GITOPS_REPO).commits.values()].some((files) => files.has('models/pump-forecaster/release.yaml'));

  it("train or release from a branch whose own config tracks it: only the default branch's config says which branches train", async () => {
    const world = await new ReleaseWorld(github).seed();
    const sha = await trainOn(world, 'evil', tracking(await exampleConfigText(), 'evil'));
    expect(world.model.dispatches).toEqual([]);
    expect(world.model.checkRuns.filter((run) => run.head_sha === sha)).toEqual([]);
    expect(world.model.pulls).toEqual([]);
    expect(released()).toBe(false);
  });

  it('deploy a release merged into a tracked branch that requires no review; the operator may allow it, and the fleet dashboard says which rule let it deploy', async () => {
    // The default branch tracks `evil` too, but no ruleset requires a review there (the fake's main requires one).
    for (const policy of [
      TEST_POLICY,
      operatorPolicySchema.parse({ ...TEST_POLICY, unreviewedDeploys: ['acme/pump-model'] }),
    ]) {
      github.done();
      github = new FakeGitHub();
      const world = await new ReleaseWorld(github, { policy }).seed();
      const config = tracking(await exampleConfigText(), 'main, evil');
      world.sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': config });
      await trainOn(world, 'evil', config);
      expect(world.model.dispatches.map((dispatch) => dispatch.ref)).toEqual(['evil']);
      const [pull] = world.model.pulls;
      expect(pull?.base.ref).toBe('evil');
      const mergeSha = github.merge(MODEL_REPO, pull!.number);
      await world.app.receive('pull_request.closed', world.merged(pull!.number, mergeSha));
      await world.app.settle();
      const said = world.model.comments.get(pull!.number)?.map((comment) => comment.body) ?? [];
      if (policy === TEST_POLICY) {
        expect(said).toEqual([
          expect.stringContaining(
            `edgeship did not deploy #${pull!.number}: \`evil\` requires no approving review before a merge, so no one but its writer need have read this release: add a ruleset that requires a pull request review on \`evil\`, or let acme/pump-model deploy without one in the operator's policy (unreviewedDeploys)`,
          ),
        ]);
        expect(released()).toBe(false);
      } else {
        expect(said).toEqual([]);
        expect(world.model.issues[0]?.body).toContain(
          "It deploys because the operator's policy lets acme/pump-model deploy from `evil` without a required review (unreviewedDeploys).",
        );
        expect(released()).toBe(true);
      }
    }
  });

  it("change the release proposal on the app's own release branch before merging it", async () => {
    const world = await new ReleaseWorld(github).seed();
    await world.app.receive('workflow_run.completed', world.runCompleted(await world.finishRun()));
    await world.app.settle();
    const pull = world.model.pulls[0]!;
    const appHead = world.model.branches.get(pull.head.ref)!;
    // The writer amends the record on top of the app's commit: the head is no longer the app's.
    github.commit(MODEL_REPO, pull.head.ref, { '.edgeship/release.json': JSON.stringify(await forged()) });
    const mergeSha = github.merge(MODEL_REPO, pull.number);
    await world.app.receive('pull_request.closed', world.merged(pull.number, mergeSha));
    await world.app.settle();
    expect(world.model.branches.get(pull.head.ref)).not.toBe(appHead);
    expect(world.model.comments.get(pull.number)?.at(-1)?.body).toContain('is not a release commit edgeship wrote');
    expect(github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')).toBeUndefined();
  });

  it('open a release PR from a workflow run on an untracked branch', async () => {
    const world = await new ReleaseWorld(github).seed();
    const runId = await world.finishRun();
    const payload = world.runCompleted(runId);
    payload.workflow_run.head_branch = 'evil';
    await world.app.receive('workflow_run.completed', payload);
    await world.app.settle();
    expect(world.model.pulls).toEqual([]);
  });

  it.each([
    [
      'evil/gitops',
      'gitops.repo: "evil/gitops" is not allowed by the operator policy; the operator can add it to gitops.repos in EDGESHIP_POLICY_FILE',
    ],
    [
      'acme/elsewhere',
      'edgeship is not installed on acme/elsewhere; install the app on the GitOps repo (it may be in another organisation)',
    ],
  ])('release into GitOps repo %s', async (gitopsRepo, reason) => {
    const world = await new ReleaseWorld(github).seed();
    world.sha = github.commit(MODEL_REPO, 'main', {
      '.github/edgeship.yml': (await exampleConfigText()).replace(`repo: ${GITOPS_REPO}`, `repo: ${gitopsRepo}`),
    });
    await world.app.receive('workflow_run.completed', world.runCompleted(await world.finishRun()));
    await expect(world.app.settle()).rejects.toThrow(reason);
    const check = world.model.checkRuns.find((run) => run.name === 'edgeship/train' && run.head_sha === world.sha);
    expect(check).toMatchObject({
      conclusion: 'failure',
      output: { title: 'No release: the GitOps repo is out of reach', summary: reason },
    });
    expect(world.model.pulls).toEqual([]);
  });

  it('deploy a version with a carriage return that would add YAML to the overlay', async () => {
    const world = await new ReleaseWorld(github).seed();
    const report = await evaluationReport();
    const runId = github.addRun(MODEL_REPO, {
      head_sha: world.sha,
      head_branch: 'main',
      status: 'completed',
      workflow: WORKFLOW,
    });
    const hostile = { ...report, version: { ...report.version, version: '1.0.0\r      image: ghcr.io/evil/miner' } };
    const { zipSync } = await import('fflate');
    github.addArtifact(
      MODEL_REPO,
      runId,
      'edgeship-report',
      zipSync({ 'report.json': Buffer.from(JSON.stringify(hostile)) }),
    );
    await world.app.receive('workflow_run.completed', world.runCompleted(runId));
    await expect(world.app.settle()).rejects.toThrow(
      /report\.json of run \d+ is not a valid edgeship evaluation report \(schemaVersion 1\):\n {2}- version\.version: expected a semantic version such as 1\.2\.3, found "1\.0\.0\\r {6}image: ghcr\.io\/evil\/miner"/,
    );
    expect(world.model.pulls).toEqual([]);
  });

  it('exhaust the app with a zip bomb as the report artifact', async () => {
    const world = await new ReleaseWorld(github).seed();
    const runId = github.addRun(MODEL_REPO, {
      head_sha: world.sha,
      head_branch: 'main',
      status: 'completed',
      workflow: WORKFLOW,
    });
    github.addArtifact(MODEL_REPO, runId, 'edgeship-report', await zipBomb(1024));
    const before = process.memoryUsage().rss;
    await world.app.receive('workflow_run.completed', world.runCompleted(runId));
    await expect(world.app.settle()).rejects.toThrow(
      `artifact "edgeship-report" of run ${runId} is refused: report.json inflates to ${1024 ** 3} bytes, more than the ${16 * 1024 ** 2} allowed for one file`,
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 ** 2);
  });

  it('send the Kubeflow token to a host of their choosing', async () => {
    const text = (await exampleConfigText()).replace(
      '  backend: github-actions\n',
      `  backend: kubeflow\n  kubeflow: { endpoint: "${attacker.url}", pipelineId: steal }\n`,
    );
    const world = await new ReleaseWorld(github, {
      trainingFor: trainingFrom(parseAppSettings({ KFP_TOKEN: 'operator-kfp-token' }).training, undefined, TEST_POLICY),
    }).seed();
    const sha = github.commit(MODEL_REPO, 'main', { '.github/edgeship.yml': text });
    await world.app.receive('push', world.push(sha));
    await world.app.settle();
    const check = world.model.checkRuns.find((run) => run.name === 'edgeship/train' && run.head_sha === sha);
    expect(check).toMatchObject({ conclusion: 'failure', output: { title: 'Not allowed by the operator policy' } });
    expect(check?.output.summary).toBe(
      `Training did not start. train.kubeflow.endpoint: "${attacker.url}" is not allowed by the operator policy; the operator can add it to kubeflow.endpoints in EDGESHIP_POLICY_FILE.`,
    );
    expect(attacker.seen).toEqual([]);
  });

  it('send the MLflow token to a tracking URI of their choosing', async () => {
    const world = await new ReleaseWorld(github).seed();
    world.sha = github.commit(MODEL_REPO, 'main', {
      '.github/edgeship.yml': `${await exampleConfigText()}registry:\n  mlflow:\n    trackingUri: ${attacker.url}\n`,
    });
    const { number, mergeSha } = world.mergedRelease(await evaluationReport());
    await world.app.receive('pull_request.closed', world.merged(number, mergeSha));
    await world.app.settle();
    expect(github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')).toContain('version: 1.0.0');
    expect(
      world.model.comments
        .get(number)
        ?.map((comment) => comment.body)
        .join('\n'),
    ).toContain('registry.mlflow.trackingUri&#58; "http&#58;//127.0.0.1');
    expect(attacker.seen).toEqual([]);
  });

  it('send the registry password to a host through the reference, a Bearer realm or a redirect', async () => {
    // A reference to a host outside the policy is refused before anything is sent.
    expect(() =>
      policyStoreForReference(`${attacker.host}/models/pump@${DIGEST}`, TEST_POLICY, 'artifact reference', {
        credentials: OPERATOR,
      }),
    ).toThrow(
      `artifact reference: "${attacker.host}" is not allowed by the operator policy; the operator can add it to registries[].host in EDGESHIP_POLICY_FILE`,
    );
    expect(() => policyStoreForReference(`oci-layout:/etc@${DIGEST}`, TEST_POLICY, 'artifact reference')).toThrow(
      /registries, not local layouts/,
    );

    // An allowed registry whose Bearer challenge names the attacker as its token service.
    const registry = await startAttacker((request, response) => {
      if (request.url?.startsWith('/v2/models/pump/blobs/')) {
        if (!request.headers.authorization)
          return void response
            .writeHead(401, { 'www-authenticate': `Bearer realm="${attacker.url}/token",service="x"` })
            .end();
      }
      response.writeHead(404).end();
    });
    const policy = operatorPolicySchema.parse({ registries: [{ host: registry.host }] });
    try {
      const store = policyStoreForReference(`${registry.host}/models/pump@${DIGEST}`, policy, 'artifact reference', {
        credentials: OPERATOR,
        retries: 0,
      });
      await expect(store.pull(`${registry.host}/models/pump@${DIGEST}`, '/nonexistent')).rejects.toThrow();
      const client = new RegistryClient(registry.host, { credentials: OPERATOR, retries: 0, allowRealm: () => false });
      await expect(
        client.request({
          method: 'GET',
          path: `/v2/models/pump/blobs/${DIGEST}`,
          scope: 'repository:models/pump:pull',
          expect: [200],
        }),
      ).rejects.toThrow(
        `${registry.host} asked for its credentials to go to ${attacker.url}, a token service the operator policy does not list for it (registries[].tokenRealms)`,
      );
    } finally {
      await registry.stop();
    }

    // An allowed registry that takes Basic auth, then redirects the blob to the attacker.
    const redirecting = await startAttacker((request, response) => {
      if (!request.headers.authorization)
        return void response.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
      response.writeHead(307, { location: `${attacker.url}/blob` }).end();
    });
    try {
      const client = new RegistryClient(redirecting.host, { credentials: OPERATOR, retries: 0 });
      const response = await client.request({
        method: 'GET',
        path: `/v2/models/pump/blobs/${DIGEST}`,
        scope: 'repository:models/pump:pull',
        expect: [200],
      });
      expect(response.status).toBe(200);
      expect(redirecting.credentials()).toEqual([
        `Basic ${Buffer.from('operator:operator-registry-secret').toString('base64')}`,
      ]);
    } finally {
      await redirecting.stop();
    }
    expect(attacker.seen.map((request) => request.url)).toEqual(['/blob']);
    expect(attacker.credentials()).toEqual([]);
  });
});

/**
 * A zip of one `report.json` of `mebibytes` MiB of zeros, about 1 MB on the wire per GiB
 * inflated: deflated by zlib chunk by chunk, so making it costs little memory and time.
 */
async function zipBomb(mebibytes: number): Promise<Uint8Array> {
  const zeros = Buffer.alloc(1024 ** 2);
  let crc = 0;
  for (let index = 0; index < mebibytes; index += 1) crc = crc32(zeros, crc);
  const compressed: Buffer[] = [];
  const deflate = createDeflateRaw({ level: 9 });
  deflate.on('data', (chunk: Buffer) => compressed.push(chunk));
  await pipeline(
    Readable.from(
      (function* () {
        for (let index = 0; index < mebibytes; index += 1) yield zeros;
      })(),
    ),
    deflate,
  );
  const data = Buffer.concat(compressed);
  const name = Buffer.from('report.json');
  const size = mebibytes * 1024 ** 2;
  const header = (signature: number, central: boolean) => {
    const fixed = Buffer.alloc(central ? 46 : 30);
    let at = 0;
    const u32 = (value: number) => (at = fixed.writeUInt32LE(value >>> 0, at));
    const u16 = (value: number) => (at = fixed.writeUInt16LE(value, at));
    u32(signature);
    if (central) u16(20); // made by
    u16(20);
    u16(0);
    u16(8);
    u16(0);
    u16(0); // version, flags, deflate, time, date
    u32(crc);
    u32(data.length);
    u32(size);
    u16(name.length);
    u16(0);
    if (central) {
      u16(0);
      u16(0);
      u16(0);
      u32(0);
      u32(0);
    } // comment, disk, attributes, local header at 0
    return Buffer.concat([fixed, name]);
  };
  const local = header(0x04034b50, false);
  const central = header(0x02014b50, true);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length, 12);
  end.writeUInt32LE(local.length + data.length, 16);
  return Buffer.concat([local, data, central, end]);
}
