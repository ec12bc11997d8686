import { generateKeyPairSync, verify } from 'node:crypto';
import { dsse } from '@sigstore/core';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { modelFiles } from '../../../src/adapters/signing/model-files.ts';
import { signModel, verifyModel } from '../../../src/adapters/signing/oms-bundle.ts';
import { ROOT } from '../../helpers/fixtures.ts';

const pems = (type: 'ec' | 'ed25519', namedCurve?: string) => {
  const pair =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: namedCurve as string }) : generateKeyPairSync('ed25519');
  return {
    private: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    public: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};

const scratch = await mkdtemp(join(tmpdir(), 'edgeship-signing-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

/** A model directory like training writes: the model, its metrics, a nested file, and git files OMS leaves out. */
async function modelDirectory(name: string): Promise<string> {
  const directory = join(scratch, name);
  await mkdir(join(directory, 'extra'), { recursive: true });
  await mkdir(join(directory, '.git'), { recursive: true });
  await writeFile(join(directory, 'model.onnx'), Buffer.from([8, 1, 18, 7]));
  await writeFile(join(directory, 'metrics.json'), '{"f1": 0.8}\n');
  await writeFile(join(directory, 'extra', 'notes.txt'), 'trained on pump data\n');
  await writeFile(join(directory, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  return directory;
}

describe('OMS v1.0 bundles signed with an operator key', () => {
  it('round-trips for EC P-256, P-384, P-521 and Ed25519 keys (each signing as the Sigstore registry says), refuses an RSA key, and writes a bundle the spec’s schema takes', async () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    for (const name of ['predicate', 'statement', 'envelope', 'bundle'])
      ajv.addSchema(
        JSON.parse(
          await readFile(join(ROOT, 'test/fixtures/oms-v1.0/schemas', `${name}.schema.json`), 'utf8'),
        ) as object,
      );
    const directory = await modelDirectory('round-trip');
    const files = await modelFiles(directory);
    expect(files.map((file) => file.name).sort()).toEqual(['extra/notes.txt', 'metrics.json', 'model.onnx']);
    const keys = [pems('ec', 'prime256v1'), pems('ec', 'secp384r1'), pems('ec', 'secp521r1'), pems('ed25519')];
    for (const [index, key] of keys.entries()) {
      const bundle = await signModel('round-trip', files, key.private, ['model.sig']);
      expect(ajv.validate('https://model_signing/bundle/v1.0/schema', bundle), JSON.stringify(ajv.errors)).toBe(true);
      const verified = verifyModel(JSON.stringify(bundle), files, {
        keys: [pems('ec', 'prime256v1').public, key.public],
        identities: [],
      });
      expect(verified.signer).toEqual({ keyHint: bundle.verificationMaterial?.publicKey?.hint });
      expect(verified.statement.predicate.resources).toHaveLength(3);
      // As the Sigstore algorithm registry says: ECDSA hashes with its curve's SHA-2, Ed25519 signs the message.
      const envelope = bundle.dsseEnvelope as { payload: string; payloadType: string; signatures: { sig: string }[] };
      const signed = dsse.preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64'));
      const hash = ['sha256', 'sha384', 'sha512', null][index] ?? null;
      expect(verify(hash, signed, key.public, Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64'))).toBe(true);
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await expect(signModel('round-trip', files, rsa.toString())).rejects.toThrow(
      'a rsa key: expected EC P-256, P-384 or P-521, or Ed25519',
    );
  });

  it('refuses a changed file, a missing or an added file, an untrusted key, a forged payload and a bundle that is not one', async () => {
    const key = pems('ec', 'prime256v1');
    const directory = await modelDirectory('refusals');
    const files = await modelFiles(directory);
    const bundle = JSON.stringify(await signModel('refusals', files, key.private));
    const refusal = (text: string, at = files, keys = [key.public]) => {
      try {
        verifyModel(text, at, { keys, identities: [] }, 'model.sig');
        return 'verified';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refusal(bundle)).toBe('verified');

    await writeFile(join(directory, 'model.onnx'), Buffer.from([8, 1, 18, 8]));
    expect(refusal(bundle, await modelFiles(directory))).toMatch(/^model\.sig: "model\.onnx" changed: sha256 /);
    expect(
      refusal(
        bundle,
        files.filter((file) => file.name !== 'metrics.json'),
      ),
    ).toBe('model.sig: "metrics.json" is signed but missing');
    expect(refusal(bundle, [...files, { name: 'backdoor.py', sha256: 'e'.repeat(64) }])).toBe(
      'model.sig: "backdoor.py" is not among the signed files',
    );
    expect(refusal(bundle, files, [pems('ec', 'prime256v1').public])).toMatch(
      /^model\.sig: signed by key [0-9a-f]{64}, which is not among the 1 trusted$/,
    );
    expect(refusal(bundle, files, [])).toBe('model.sig: no trusted key or identity to verify it with');

    // A payload swapped for one listing other digests, the signature kept: the signature no longer verifies.
    const parsed = JSON.parse(bundle) as { dsseEnvelope: { payload: string } };
    const statement = JSON.parse(Buffer.from(parsed.dsseEnvelope.payload, 'base64').toString('utf8')) as {
      predicate: { resources: { digest: string }[] };
    };
    for (const resource of statement.predicate.resources) resource.digest = 'f'.repeat(64);
    parsed.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    expect(refusal(JSON.stringify(parsed))).toMatch(/^model\.sig: the signature does not verify/);

    expect(refusal('')).toMatch(/^model\.sig: expected JSON Sigstore bundle, found text that does not parse/);
    expect(refusal('{"mediaType": "x"}')).toMatch(/^model\.sig: not a Sigstore bundle/);
  });

  it('refuses to sign or verify through a symbolic link, and an empty model', async () => {
    const directory = await modelDirectory('links');
    await symlink('/etc/hostname', join(directory, 'link'));
    await expect(modelFiles(directory)).rejects.toThrow('a symbolic link');
    const empty = join(scratch, 'empty');
    await mkdir(empty);
    await expect(modelFiles(empty)).rejects.toThrow('no files to sign or verify');
  });
});
