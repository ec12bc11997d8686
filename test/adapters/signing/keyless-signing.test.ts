import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactStoreFor } from '../../../src/adapters/oci/index.ts';
import { checkReleaseSignature } from '../../../src/adapters/signing/release-check.ts';
import { collectOutputs } from '../../../src/adapters/training/local-process.ts';
import { signerFromEnvironment } from '../../../src/compose/signer.ts';
import { publish } from '../../../src/services/publish.ts';
import { runEdgeship } from '../../helpers/cli.ts';
import { startFakeSigstore } from '../../helpers/fake-sigstore.ts';
import { copyExampleOutputs } from '../../helpers/fixtures.ts';
import { evaluationReport } from '../../helpers/evaluation-report.ts';

// Nothing here may load nock: sigstore-js's requests (make-fetch-happen) hang under nock 14's interceptors.
const WORKFLOW = 'acme/pump-model/.github/workflows/edgeship-train.yml@refs/heads/main';
const scratch = await mkdtemp(join(tmpdir(), 'edgeship-keyless-sign-'));
let sigstore: Awaited<ReturnType<typeof startFakeSigstore>>;
let trustedRoot: string;
beforeAll(async () => {
  sigstore = await startFakeSigstore({ workflowRef: WORKFLOW });
  trustedRoot = join(scratch, 'trusted_root.json');
  await writeFile(trustedRoot, JSON.stringify(sigstore.trustedRoot));
});
afterAll(async () => {
  await sigstore?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** This test file's process as a GitHub Actions job with `id-token: write` sees it, for one call. */
async function inActions<T>(work: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, sigstore.actionsEnvironment);
  try {
    return await work();
  } finally {
    for (const name of Object.keys(sigstore.actionsEnvironment)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

describe('keyless signing at publish, as a GitHub Actions run does it', () => {
  it('gets the workflow certified by Fulcio and logged by Rekor, and the artifact verifies for that workflow only', async () => {
    const signer = signerFromEnvironment({
      EDGESHIP_KEYLESS_SIGNING: 'true',
      EDGESHIP_FULCIO_URL: sigstore.url,
      EDGESHIP_REKOR_URL: sigstore.url,
    });
    const store = artifactStoreFor(`oci-layout:${join(scratch, 'oci')}`);
    const outputs = await collectOutputs(await copyExampleOutputs(join(scratch, 'outputs')));
    const report = await evaluationReport();
    const pushed = await inActions(() => publish(store, outputs, report, {}, signer));
    // One certificate and one log entry for the signature, and as many for the build provenance;
    // the second entry's proof climbs a tree of two.
    expect(sigstore.requests).toEqual({ tokens: 2, certificates: 2, entries: 2 });

    const run = (args: string[]) => runEdgeship(args, { cwd: scratch, env: process.env });
    const identity = `${sigstore.identity.issuer}=${sigstore.identity.subject}`;
    const verified = await run(['verify', pushed.reference, '--identity', identity, '--trusted-root', trustedRoot]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(
      `: 5 files as signed by https://github.com/${WORKFLOW} (issuer https://token.actions.githubusercontent.com)\n`,
    );
    // Another workflow of the repo, or the public-good root (which never certified this instance's keys): refused.
    const otherWorkflow = `${sigstore.identity.issuer}=https://github.com/acme/pump-model/.github/workflows/other.yml@refs/heads/main`;
    expect(
      await run(['verify', pushed.reference, '--identity', otherWorkflow, '--trusted-root', trustedRoot]),
    ).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/which is not among the 1 trusted identities\n$/) as string,
    });
    expect(await run(['verify', pushed.reference, '--identity', identity])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining(
        'Sigstore refuses the keyless signature (Failed to verify certificate chain)',
      ) as string,
    });

    // The app's check before a release PR: signature and build provenance, both keyless, by the workflow.
    const trust = { keys: [], identities: [sigstore.identity], trustedRoot };
    expect(await checkReleaseSignature(store, pushed, undefined, trust)).toMatchObject({
      verified: true,
      signature: { identity: sigstore.identity },
    });
    expect(
      await checkReleaseSignature(store, pushed, undefined, {
        ...trust,
        identities: [{ ...sigstore.identity, subject: 'x' }],
      }),
    ).toMatchObject({
      verified: false,
      reason: expect.stringContaining('is not among the 1 trusted identities') as string,
    });
  }, 120_000);

  it('says why it cannot sign outside a job with an OIDC token, and refuses two ways to sign at once', async () => {
    const signer = signerFromEnvironment({
      EDGESHIP_KEYLESS_SIGNING: 'true',
      EDGESHIP_FULCIO_URL: sigstore.url,
      EDGESHIP_REKOR_URL: sigstore.url,
    });
    await expect(signer?.attest({ _type: 'https://in-toto.io/Statement/v1' })).rejects.toThrow(
      /^EDGESHIP_KEYLESS_SIGNING: keyless signing failed \(error retrieving identity token: CI: no tokens available\)$/,
    );
    expect(() => signerFromEnvironment({ EDGESHIP_KEYLESS_SIGNING: 'true', EDGESHIP_SIGNING_KEY: 'k.pem' })).toThrow(
      'EDGESHIP_SIGNING_KEY and EDGESHIP_KEYLESS_SIGNING=true: expected one way to sign, found both',
    );
    expect(() => signerFromEnvironment({ EDGESHIP_KEYLESS_SIGNING: 'yes' })).toThrow(
      'EDGESHIP_KEYLESS_SIGNING: expected true or false, found "yes"',
    );
    expect(() =>
      signerFromEnvironment({ EDGESHIP_KEYLESS_SIGNING: 'true', EDGESHIP_FULCIO_URL: 'fulcio.example' }),
    ).toThrow('EDGESHIP_FULCIO_URL: expected an http(s) URL, found "fulcio.example"');
    expect(signerFromEnvironment({})).toBeUndefined();
    // The workflow template passes an unset repository variable as an empty string.
    expect(signerFromEnvironment({ EDGESHIP_KEYLESS_SIGNING: '', EDGESHIP_FULCIO_URL: '' })).toBeUndefined();
  });
});
