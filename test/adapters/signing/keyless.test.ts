import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFiles } from '../../../src/adapters/signing/model-files.ts';
import { verifyModel } from '../../../src/adapters/signing/oms-bundle.ts';
import type { SigningTrust } from '../../../src/core/signing-trust.ts';
import { runEdgeship } from '../../helpers/cli.ts';
import { ROOT } from '../../helpers/fixtures.ts';

/**
 * The OMS spec's keyless test vector: signed through the public-good Sigstore instance (a Fulcio
 * certificate for stefanb@us.ibm.com, issued on IBM's OIDC provider, and a Rekor entry), over two
 * files whose contents the statement's digests give away: "signme-1" and "signme-2".
 */
const VECTOR = join(ROOT, 'test/fixtures/oms-v1.0/valid/sigstore.bundle.json');
const SIGNER = { issuer: 'https://sigstore.verify.ibm.com/oauth2', subject: 'stefanb@us.ibm.com' };

const scratch = await mkdtemp(join(tmpdir(), 'edgeship-keyless-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function signedModel(): Promise<string> {
  const directory = join(scratch, 'model');
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'signme-1'), 'signme-1');
  await writeFile(join(directory, 'signme-2'), 'signme-2');
  return directory;
}

const refusal = async (bundle: string, trust: SigningTrust, directory?: string) => {
  try {
    const verified = verifyModel(bundle, await modelFiles(directory ?? (await signedModel())), trust, 'model.sig');
    return verified.signer;
  } catch (error) {
    return (error as Error).message;
  }
};

describe('keyless signatures (Fulcio certificate, Rekor entry), checked against a Sigstore trusted root', () => {
  it("verifies the OMS spec's keyless vector with the public-good root edgeship ships, and names its signer", async () => {
    const bundle = await readFile(VECTOR, 'utf8');
    expect(await refusal(bundle, { keys: [], identities: [SIGNER] })).toEqual({ identity: SIGNER });
  });

  it('refuses it for another subject or issuer, with no identity trusted, and when a file changed', async () => {
    const bundle = await readFile(VECTOR, 'utf8');
    const someone = { ...SIGNER, subject: 'someone@example.com' };
    expect(await refusal(bundle, { keys: [], identities: [someone] })).toBe(
      'model.sig: signed by stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2), which is not among the 1 trusted identities',
    );
    expect(
      await refusal(bundle, {
        keys: [],
        identities: [{ ...SIGNER, issuer: 'https://token.actions.githubusercontent.com' }],
      }),
    ).toMatch(/which is not among the 1 trusted identities$/);
    expect(await refusal(bundle, { keys: ['unused'], identities: [] })).toBe(
      'model.sig: signed keyless (a certificate), and no signing identity is trusted here',
    );
    const directory = await signedModel();
    await writeFile(join(directory, 'signme-2'), 'signme-2, changed');
    expect(await refusal(bundle, { keys: [], identities: [SIGNER] }, directory)).toMatch(
      /^model\.sig: "signme-2" changed: sha256 /,
    );
  });

  it('refuses a forged statement, a forged log entry, and a trusted root without the CA that issued the certificate', async () => {
    const original = JSON.parse(await readFile(VECTOR, 'utf8')) as {
      dsseEnvelope: { payload: string };
      verificationMaterial: { tlogEntries: { integratedTime: string }[] };
    };
    const forged = structuredClone(original);
    const statement = JSON.parse(Buffer.from(forged.dsseEnvelope.payload, 'base64').toString('utf8')) as {
      predicate: { resources: { digest: string }[] };
    };
    (statement.predicate.resources[1] as { digest: string }).digest = 'e'.repeat(64);
    forged.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(await refusal(JSON.stringify(forged), { keys: [], identities: [SIGNER] })).toBe(
      'model.sig: Sigstore refuses the keyless signature (DSSE payload hash mismatch)',
    );
    const backdated = structuredClone(original);
    const entry = backdated.verificationMaterial.tlogEntries[0] as { integratedTime: string };
    entry.integratedTime = String(Number(entry.integratedTime) - 3600);
    // An hour before the certificate was issued: the log's time is no longer within its validity.
    expect(await refusal(JSON.stringify(backdated), { keys: [], identities: [SIGNER] })).toBe(
      'model.sig: Sigstore refuses the keyless signature (Failed to verify certificate chain)',
    );

    // The public-good root with its certificate authorities swapped for one that issued nothing here.
    const seeds = createRequire(import.meta.url)('@sigstore/tuf/seeds.json') as Record<
      string,
      { targets: Record<string, string> }
    >;
    const root = JSON.parse(
      Buffer.from(seeds['https://tuf-repo-cdn.sigstore.dev']?.targets['trusted_root.json'] ?? '', 'base64').toString(),
    ) as { certificateAuthorities: { subject: object; uri: string; certChain: { certificates: unknown[] } }[] };
    const certificate = JSON.parse(
      await readFile(join(ROOT, 'test/fixtures/oms-v1.0/valid/certificate.bundle.json'), 'utf8'),
    ) as { verificationMaterial: { x509CertificateChain: { certificates: unknown[] } } };
    const stranger = {
      ...(root.certificateAuthorities[0] as object),
      certChain: { certificates: certificate.verificationMaterial.x509CertificateChain.certificates.slice(-1) },
    };
    const file = join(scratch, 'trusted_root.json');
    await writeFile(file, JSON.stringify({ ...root, certificateAuthorities: [stranger] }));
    expect(await refusal(await readFile(VECTOR, 'utf8'), { keys: [], identities: [SIGNER], trustedRoot: file })).toBe(
      'model.sig: Sigstore refuses the keyless signature (Failed to verify certificate chain)',
    );
  });

  it('edgeship verify takes --identity, and says which files, by whom', async () => {
    const directory = await signedModel();
    const run = (args: string[]) => runEdgeship(args, { cwd: scratch, env: process.env });
    const identity = `${SIGNER.issuer}=${SIGNER.subject}`;
    const verified = await run(['verify', directory, '--identity', identity, '--signature', VECTOR]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(
      /: 2 files as signed by stefanb@us\.ibm\.com \(issuer https:\/\/sigstore\.verify\.ibm\.com\/oauth2\)\n$/,
    );
    const other = await run([
      'verify',
      directory,
      '--identity',
      `${SIGNER.issuer}=mallory@example.com`,
      '--signature',
      VECTOR,
    ]);
    expect(other).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/which is not among the 1 trusted identities\n$/) as string,
    });
    const malformed = await run(['verify', directory, '--identity', 'stefanb@us.ibm.com', '--signature', VECTOR]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/--identity: expected <OIDC issuer>=<subject>/);
  });
});
