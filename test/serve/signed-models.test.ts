import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RegistryStore } from '../../src/adapters/oci/registry-store.ts';
import { keyFileSigner } from '../../src/adapters/signing/key-signer.ts';
import { modelFiles } from '../../src/adapters/signing/model-files.ts';
import { signModel } from '../../src/adapters/signing/oms-bundle.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { loadModel, type LoadedModel } from '../../src/serve/model.ts';
import { signingTrustOf } from '../../src/serve/options.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { publish } from '../../src/services/publish.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';
import { evaluationReport } from '../helpers/release-world.ts';
import { serving } from './helpers.ts';

const scratch = await mkdtemp(join(tmpdir(), 'edgeship-signed-serve-'));
const pair = (name: string) => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateFile: join(scratch, `${name}.key`),
    private: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    public: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const operator = pair('operator');
const stranger = pair('stranger');
const loaded: LoadedModel[] = [];
const load = async (source: Parameters<typeof loadModel>[0]) => {
  const model = await loadModel(source);
  loaded.push(model);
  return model;
};
const refusal = (source: Parameters<typeof loadModel>[0]) =>
  load(source).then(
    () => 'loaded',
    (error: Error) => `${error.name}: ${error.message}`,
  );

let registry: TestRegistry;
beforeAll(async () => {
  registry = await startRegistry();
  await writeFile(operator.privateFile, operator.private);
});
afterAll(async () => {
  for (const model of loaded) {
    await model.worker.close();
    await model.cleanup();
  }
  await registry?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** The example's outputs in a directory of their own, published to the loopback registry, signed or not. */
async function published(name: string, signed: boolean) {
  const directory = join(scratch, name);
  await cp(inject('exampleOutputs'), directory, { recursive: true });
  const outputs = await collectOutputs(directory);
  const store = new RegistryStore(`${registry.address}/models`);
  const report = await evaluationReport();
  report.model = name;
  return publish(store, outputs, report, {}, signed ? keyFileSigner(operator.privateFile) : undefined);
}

describe('serve loads only models a trusted key signed, when told to', () => {
  it('verifies a published artifact on its way in: signed by the key it loads, by another or unsigned it refuses', async () => {
    const signed = await published('pump-signed', true);
    const unsigned = await published('pump-unsigned', false);
    expect(await refusal({ model: signed.reference, trust: { keys: [operator.public], identities: [] } })).toBe(
      'loaded',
    );
    expect(await refusal({ model: signed.reference, trust: { keys: [stranger.public], identities: [] } })).toMatch(
      /^SignatureError: .*pump-signed@sha256:[a-f0-9]{64}: attached signature 1 of 1: signed by key [a-f0-9]{64}, which is not among the 1 trusted$/,
    );
    expect(await refusal({ model: unsigned.reference, trust: { keys: [operator.public], identities: [] } })).toMatch(
      /^SignatureError: .*pump-unsigned@sha256:[a-f0-9]{64}: no signature \(none attached to the artifact\), and this server loads only signed models/,
    );
    // Without trusted keys nothing changes: an unsigned model loads as before.
    expect(await refusal({ model: unsigned.reference })).toBe('loaded');
  }, 60_000);

  it('signs a version published unsigned before: same artifact, signature attached, then both keys of a rotation load it', async () => {
    const before = await published('pump-later', false);
    const after = await published('pump-later', true);
    expect(after.digest).toBe(before.digest);
    expect(await refusal({ model: after.reference, trust: { keys: [operator.public], identities: [] } })).toBe(
      'loaded',
    );
    // Signed again by the next key (a rotation): the two signatures are attached side by side.
    const next = pair('next');
    await writeFile(next.privateFile, next.private);
    const directory = join(scratch, 'pump-later');
    const report = await evaluationReport();
    report.model = 'pump-later';
    const store = new RegistryStore(`${registry.address}/models`);
    await publish(store, await collectOutputs(directory), report, {}, keyFileSigner(next.privateFile));
    const attached = await store.attached(after.reference, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    // Each signed publish attached the files' signature and the build provenance.
    expect(attached.map((blob) => blob.annotations['dev.sigstore.bundle.predicateType']).sort()).toEqual([
      'https://model_signing/signature/v1.0',
      'https://model_signing/signature/v1.0',
      'https://slsa.dev/provenance/v1',
      'https://slsa.dev/provenance/v1',
    ]);
    expect(await refusal({ model: after.reference, trust: { keys: [next.public], identities: [] } })).toBe('loaded');
    expect(await refusal({ model: after.reference, trust: { keys: [stranger.public], identities: [] } })).toMatch(
      /none of 2 signatures verifies: .*attached signature 1 of 2: signed by key .* \| .*attached signature 2 of 2: signed by key/,
    );
  }, 60_000);

  it('verifies a model file against the model.sig beside it, and names the file that changed', async () => {
    const directory = join(scratch, 'local');
    await cp(inject('exampleOutputs'), directory, { recursive: true });
    const file = join(directory, 'model.onnx');
    const bundle = await signModel('model.onnx', await modelFiles(file), operator.private);
    await writeFile(join(directory, 'model.sig'), JSON.stringify(bundle));
    expect(await refusal({ model: file, trust: { keys: [operator.public], identities: [] } })).toBe('loaded');
    await writeFile(file, Buffer.concat([await readFile(file), Buffer.from([0])]));
    expect(await refusal({ model: file, trust: { keys: [operator.public], identities: [] } })).toMatch(
      /^SignatureError: .*model\.sig: "model\.onnx" changed: sha256 [a-f0-9]{64}, signed [a-f0-9]{64}$/,
    );
  }, 60_000);

  it("verifies an image's own model (/models) against the signatures of the artifact it was published as", async () => {
    const signed = await published('pump-image', true);
    // /models as publish lays it out in the modelcar and the serving image: the artifact's files and edgeship.json.
    const models = join(scratch, 'image-models');
    const pulled = await new RegistryStore(`${registry.address}/models`).pull(signed.reference, models);
    await writeFile(join(models, 'edgeship.json'), '{"model":"pump-image","version":"1.0.0"}\n');
    const file = pulled.files['model.onnx'] as string;
    const trust = { keys: [operator.public], identities: [] };
    expect(await refusal({ model: file, trust, signedAs: signed.reference })).toBe('loaded');
    expect(
      await refusal({ model: file, trust: { keys: [stranger.public], identities: [] }, signedAs: signed.reference }),
    ).toMatch(/signed by key [a-f0-9]{64}, which is not among the 1 trusted$/);
    // Without the artifact's name, the image's model has no signature to be checked against: it is refused, with the fix.
    expect(await refusal({ model: file, trust })).toMatch(
      /no signature \(no model\.sig beside it\), and this server loads only signed models .*; for an image's own model, set EDGESHIP_MODEL_ARTIFACT to the artifact it was published as$/,
    );
    await writeFile(join(models, 'golden.json'), '{"samples": []}\n');
    expect(await refusal({ model: file, trust, signedAs: signed.reference })).toMatch(
      /"golden\.json" changed: sha256 /,
    );
    expect(await refusal({ model: file, trust, signedAs: 'ghcr.io/acme/pump:latest' })).toMatch(
      /^UsageError: EDGESHIP_MODEL_ARTIFACT: expected an artifact reference pinned by digest/,
    );
  }, 60_000);

  it('checks a keyless signature against the identities it trusts, and refuses one whose files are not this model', async () => {
    const directory = join(scratch, 'keyless');
    await cp(inject('exampleOutputs'), directory, { recursive: true });
    const file = join(directory, 'model.onnx');
    // The OMS spec's keyless vector: a real Fulcio certificate and Rekor entry, over two other files.
    await cp(join(ROOT, 'test/fixtures/oms-v1.0/valid/sigstore.bundle.json'), join(directory, 'model.sig'));
    const signer = { issuer: 'https://sigstore.verify.ibm.com/oauth2', subject: 'stefanb@us.ibm.com' };
    expect(await refusal({ model: file, trust: { keys: [], identities: [signer] } })).toMatch(
      /^SignatureError: .*model\.sig: "signme-1" is signed but missing; "signme-2" is signed but missing; "model\.onnx" is not among the signed files$/,
    );
    expect(await refusal({ model: file, trust: { keys: [operator.public], identities: [] } })).toMatch(
      /^SignatureError: .*model\.sig: signed keyless \(a certificate\), and no signing identity is trusted here$/,
    );
    // What serve is told is checked when it starts.
    await expect(signingTrustOf({ identities: ['stefanb@us.ibm.com'] })).rejects.toThrow(
      /^--trusted-identity: expected <OIDC issuer>=<subject>/,
    );
    await expect(signingTrustOf({ keyFiles: [], trustedRoot: join(directory, 'model.sig') })).rejects.toThrow(
      '--trusted-root: given without --trusted-identity, it would trust nobody',
    );
    await expect(
      signingTrustOf({ identities: [`${signer.issuer}=${signer.subject}`], trustedRoot: join(directory, 'model.sig') }),
    ).rejects.toThrow(
      /model\.sig: not a Sigstore trusted root|model\.sig: expected at least one certificate authority/,
    );
    expect(await signingTrustOf({ identities: [`${signer.issuer}=${signer.subject}`] })).toEqual({
      keys: [],
      identities: [signer],
    });
  }, 60_000);

  it('refuses a load on request whose signature does not hold, counts it, and keeps serving the model it had', async () => {
    const unsigned = await published('pump-load', false);
    const served = await serving({
      load: {
        token: 'admin',
        model: (source) => loadModel({ ...source, trust: { keys: [operator.public], identities: [] } }),
      },
    });
    try {
      const admin = { headers: { authorization: 'Bearer admin' } };
      const answer = await served.call(
        '/v2/repository/models/pump/load',
        { parameters: { reference: unsigned.reference } },
        admin,
      );
      expect(answer.status).toBe(403);
      expect(answer.body.error).toContain('no signature (none attached to the artifact)');
      expect((await served.call('/v2/models/pump')).body).toMatchObject({ versions: ['1.0.0'] });
      expect((await served.call('/metrics')).body).toContain('edgeship_model_signature_refusals_total{model="pump"} 1');
    } finally {
      await served.stop();
    }
  }, 60_000);
});
