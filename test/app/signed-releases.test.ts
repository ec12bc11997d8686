import { generateKeyPairSync } from 'node:crypto';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { keyFileSigner } from '../../src/adapters/signing/key-signer.ts';
import { keyHint } from '../../src/adapters/signing/oms-bundle.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { operatorPolicySchema, signingTrustFor } from '../../src/core/policy.ts';
import type { EvaluationReport } from '../../src/core/report-schema.ts';
import { publish } from '../../src/services/publish.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { MemoryStore } from '../helpers/fakes.ts';
import { evaluationReport, GITOPS_REPO, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { testPolicy } from '../helpers/webhooks.ts';

const keyPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  return {
    private: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    public: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    hint: keyHint(publicKey),
  };
};
const operator = keyPair();
const stranger = keyPair();

describe('the app checks who signed a release before its PR, for the repos the policy names', () => {
  const tempDir = useTempDirs();
  let github: FakeGitHub;
  let world: ReleaseWorld;
  let store: MemoryStore;

  /** The policy the app runs with: kept, so a test can change what the operator trusts between steps. */
  let running: ReturnType<typeof operatorPolicySchema.parse>;
  const policy = (repos: string[]) =>
    (running = operatorPolicySchema.parse({ ...testPolicy(), signing: [{ repos, trustedKeys: [operator.public] }] }));

  beforeEach(async () => {
    github = new FakeGitHub();
    store = new MemoryStore(await tempDir());
  });
  afterEach(() => github.done());

  /** The example model published to the store as a training run of `commit` would: signed by `key`, or not. */
  async function published(key: { private: string } | undefined, commit: string): Promise<EvaluationReport> {
    const directory = await tempDir();
    await cp(inject('exampleOutputs'), directory, { recursive: true });
    const report = await evaluationReport();
    report.provenance = { ...report.provenance, commit, branch: 'main' };
    let signer;
    if (key) {
      const file = join(directory, 'signing.key');
      await writeFile(file, key.private);
      signer = keyFileSigner(file);
    }
    const artifact = await publish(store, await collectOutputs(directory), report, {}, signer);
    return { ...report, artifact };
  }

  async function releasePr(repos: string[], report: (sha: string) => Promise<EvaluationReport>) {
    world = await new ReleaseWorld(github, { policy: policy(repos), storeFor: () => store }).seed();
    const runId = await world.finishRun(world.sha, await report(world.sha));
    await world.app.receive('workflow_run.completed', world.runCompleted(runId));
    await world.app.settle();
    const gates = world.model.checkRuns.find((check) => check.name === 'edgeship/gates');
    return { gates, body: world.model.pulls[0]?.body ?? '' };
  }

  /** Merges the release PR: the GitOps repo must not move; the comments on the PR, for the reason. */
  async function mergeRefused(): Promise<string[]> {
    const before = github.repo(GITOPS_REPO).branches.get('main');
    const mergeSha = github.merge(MODEL_REPO, 1);
    await world.app.receive('pull_request.closed', world.merged(1, mergeSha));
    await world.app.settle();
    expect(github.repo(GITOPS_REPO).branches.get('main')).toBe(before);
    return [...(world.model.comments.get(1) ?? [])].map((comment) => comment.body);
  }

  it('passes a release signed by a trusted key and built from its commit, and shows the signer on the PR and the dashboard', async () => {
    const { gates, body } = await releasePr([MODEL_REPO], (sha) => published(operator, sha));
    expect(gates).toMatchObject({ conclusion: 'success' });
    expect(gates?.output?.summary).toContain(
      `**Signed by a trusted signer**: signed by key ${operator.hint.slice(0, 16)}`,
    );
    expect(body).toContain(`signed by key \`${operator.hint}\` (trusted by the operator policy)`);
    expect(body).toContain(`its build provenance names ${world.sha}`);
    const branch = world.model.pulls[0]?.head.ref ?? '';
    const proposal = JSON.parse(github.file(MODEL_REPO, branch, '.edgeship/release.json') ?? '{}') as EvaluationReport;
    expect(proposal.signature).toEqual({ keyHint: operator.hint, commit: world.sha });

    const mergeSha = github.merge(MODEL_REPO, 1);
    await world.app.receive('pull_request.closed', world.merged(1, mergeSha));
    await world.app.settle();
    expect(github.file(GITOPS_REPO, 'main', 'models/pump-forecaster/release.yaml')).toContain('version: 1.0.0');
    expect(world.model.issues[0]?.body).toContain(
      `Signed by key \`${operator.hint.slice(0, 16)}\`, built from ${world.sha.slice(0, 7)}`,
    );
  });

  it('fails the signature gate of an unsigned release, and its merge writes nothing to the GitOps repo', async () => {
    const { gates } = await releasePr([MODEL_REPO], (sha) => published(undefined, sha));
    expect(gates).toMatchObject({
      conclusion: 'failure',
      output: { title: expect.stringMatching(/^1 of \d+ gates failed$/) as string },
    });
    expect(gates?.output?.summary).toMatch(
      /❌ \*\*Signed by a trusted signer\*\*: no signature is attached to memory.test\/pump-forecaster@sha256&#58;0+1; publish it with EDGESHIP&#95;SIGNING&#95;KEY set/,
    );
    // Merged without its gates (the branch does not require them): refused on the PR, with the reason.
    expect(await mergeRefused()).toEqual([
      expect.stringContaining(
        'edgeship did not deploy #1: its gates failed: **Signed by a trusted signer**: no signature',
      ),
    ]);
  });

  it('checks the signature again before the first wave: a key the policy dropped since the PR deploys nothing', async () => {
    const { gates } = await releasePr([MODEL_REPO], (sha) => published(operator, sha));
    expect(gates).toMatchObject({ conclusion: 'success' });
    // The operator rotates: the key that signed this release is no longer trusted.
    (running.signing[0] as { trustedKeys: string[] }).trustedKeys = [stranger.public];
    expect(await mergeRefused()).toEqual([
      expect.stringContaining(
        `edgeship did not deploy #1: its signature no longer holds at merge: memory.test/pump-forecaster@sha256&#58;`,
      ),
    ]);
    expect(world.model.comments.get(1)?.[0]?.body).toContain(
      `signed by key ${operator.hint}, which is not among the 1 trusted`,
    );
  });

  it('names the key of a release signed by one the policy does not trust', async () => {
    const { gates } = await releasePr(['acme/*'], (sha) => published(stranger, sha));
    expect(gates).toMatchObject({ conclusion: 'failure' });
    expect(gates?.output?.summary).toContain(`signed by key ${stranger.hint}, which is not among the 1 trusted`);
  });

  it('refuses an artifact signed by the trusted key but built from another commit', async () => {
    const other = 'f'.repeat(40);
    const { gates } = await releasePr([MODEL_REPO], () => published(operator, other));
    expect(gates).toMatchObject({ conclusion: 'failure' });
    expect(gates?.output?.summary).toContain(`it was built from commit ${other}, the release is of ${world.sha}`);
  });

  it('fails the gate, with the fix, when the artifact is on a registry the policy does not let the app read', async () => {
    world = await new ReleaseWorld(github, { policy: policy([MODEL_REPO]) }).seed();
    // The example's artifact is on ghcr.io, which the policy lists; this one names another registry.
    const report = await evaluationReport();
    const elsewhere = {
      ...report,
      artifact: {
        reference: `registry.example/pump@${report.artifact?.digest ?? ''}`,
        digest: report.artifact?.digest ?? '',
      },
    };
    const runId = await world.finishRun(world.sha, elsewhere);
    await world.app.receive('workflow_run.completed', world.runCompleted(runId));
    await world.app.settle();
    const gates = world.model.checkRuns.find((check) => check.name === 'edgeship/gates');
    expect(gates).toMatchObject({ conclusion: 'failure' });
    expect(gates?.output?.summary).toMatch(
      /Signed by a trusted signer\*\*: artifact reference&#58; "registry\.example" is not allowed by the operator policy/,
    );
  });

  it('asks nothing of a repo the policy does not name', async () => {
    const { gates, body } = await releasePr(['acme/other-model'], (sha) => published(undefined, sha));
    expect(gates).toMatchObject({ conclusion: 'success' });
    expect(gates?.output?.summary).not.toContain('Signed by a trusted signer');
    expect(body).not.toContain('signed by key');
  });
});

describe('the signing policy', () => {
  it('names the rule and the key it cannot read', () => {
    const result = operatorPolicySchema.safeParse({ signing: [{ repos: ['acme/*'], trustedKeys: ['not a key'] }] });
    expect(result.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([
      'signing.0.trustedKeys.0: expected a public key in PEM (-----BEGIN PUBLIC KEY-----)',
    ]);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    expect(
      operatorPolicySchema.safeParse({ signing: [{ repos: ['acme/*'], trustedKeys: [rsa.toString()] }] }).error
        ?.issues[0]?.message,
    ).toBe('expected an EC P-256, P-384 or P-521 or an Ed25519 public key, found rsa');
  });

  it('takes keyless identities beside keys, merges the rules that name a repo, and refuses a rule that trusts nobody', () => {
    const actions = 'https://token.actions.githubusercontent.com';
    const workflow = (repo: string) =>
      `https://github.com/${repo}/.github/workflows/edgeship-train.yml@refs/heads/main`;
    const policy = operatorPolicySchema.parse({
      signing: [
        { repos: ['acme/*'], trustedIdentities: [{ issuer: actions, subject: workflow('acme/pump-model') }] },
        { repos: ['acme/pump-model'], trustedKeys: [operator.public] },
        { repos: ['acme/pump-model'], trustedIdentities: [{ issuer: actions, subject: workflow('acme/pump-model') }] },
      ],
      sigstoreTrustedRoot: '/etc/edgeship/trusted_root.json',
    });
    expect(signingTrustFor(policy, 'acme/pump-model')).toEqual({
      keys: [operator.public],
      identities: [{ issuer: actions, subject: workflow('acme/pump-model') }],
      trustedRoot: '/etc/edgeship/trusted_root.json',
    });
    expect(signingTrustFor(policy, 'other/model')).toBeUndefined();
    const refused = (rule: object) =>
      operatorPolicySchema
        .safeParse({ signing: [{ repos: ['acme/*'], ...rule }] })
        .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(refused({})).toEqual([
      'signing.0: expected trustedKeys or trustedIdentities: who may sign these repos’ releases',
    ]);
    expect(refused({ trustedIdentities: [{ issuer: 'http://insecure.example', subject: 'x' }] })).toEqual([
      'signing.0.trustedIdentities.0.issuer: expected the OIDC issuer, an https URL',
    ]);
  });
});
