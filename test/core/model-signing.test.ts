import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import {
  manifestProblems,
  omsStatement,
  omsStatementSchema,
  rootDigest,
  type OmsStatement,
} from '../../src/core/model-signing.ts';
import { ROOT } from '../helpers/fixtures.ts';

const VECTORS = join(ROOT, 'test/fixtures/oms-v1.0');
const json = async (path: string): Promise<unknown> => JSON.parse(await readFile(path, 'utf8')) as unknown;

/** The spec's own schemas, as its oms-validate loads them. */
async function specSchemas() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  for (const name of ['predicate', 'statement', 'envelope', 'bundle'])
    ajv.addSchema((await json(join(VECTORS, 'schemas', `${name}.schema.json`))) as object);
  const bundle = ajv.getSchema('https://model_signing/bundle/v1.0/schema');
  const statement = ajv.getSchema('https://model_signing/statement/v1.0/schema');
  if (!bundle || !statement) throw new Error('the spec schemas did not load');
  return { bundle, statement };
}

const payloadOf = (bundle: unknown): unknown =>
  JSON.parse(
    Buffer.from((bundle as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64').toString('utf8'),
  ) as unknown;

describe('OpenSSF model signing v1.0 statements', () => {
  it("gives the spec's verdicts on its test vectors, and the spec's key vector's subject is the root digest of its files", async () => {
    const schemas = await specSchemas();
    const verdicts: Record<string, boolean> = {};
    for (const kind of ['valid', 'invalid', 'invalid-payload'])
      for (const file of await readdir(join(VECTORS, kind))) {
        // One vector is an empty file: not JSON, so not a bundle.
        const bundle = await json(join(VECTORS, kind, file)).catch(() => undefined);
        const bundleValid = bundle !== undefined && schemas.bundle(bundle);
        const payloadValid = bundleValid && schemas.statement(payloadOf(bundle));
        verdicts[`${kind}/${file}`] = Boolean(payloadValid);
        // Ours refuses every statement the spec's schema refuses.
        if (bundleValid) expect(omsStatementSchema.safeParse(payloadOf(bundle)).success).toBe(payloadValid);
      }
    expect(verdicts).toEqual({
      'valid/certificate.bundle.json': true,
      'valid/key.bundle.json': true,
      'valid/sigstore.bundle.json': true,
      'invalid/empty.bundle.json': false,
      'invalid/missing-envelope.bundle.json': false,
      'invalid/missing-tlog-entries.bundle.json': false,
      'invalid/missing-verification-material.bundle.json': false,
      'invalid-payload/wrong-predicate.bundle.json': false,
    });
    const statement = omsStatementSchema.parse(payloadOf(await json(join(VECTORS, 'valid/key.bundle.json'))));
    expect(rootDigest(statement.predicate.resources)).toBe(statement.subject[0]?.digest.sha256);
  });

  it('lists the files in code-point order, and what it writes passes the spec’s statement schema', async () => {
    const digest = (char: string) => char.repeat(64);
    const statement = omsStatement(
      'pump',
      [
        { name: 'model.onnx', sha256: digest('a') },
        { name: 'Zeta.json', sha256: digest('b') },
        { name: 'é.txt', sha256: digest('c') },
        { name: 'data/x.bin', sha256: digest('d') },
        { name: '𝒳.bin', sha256: digest('e') },
      ],
      ['model.sig'],
    );
    // 'Z' < 'd' < 'm' < 'é' (U+00E9) < '𝒳' (U+1D4B3): code points, not UTF-16 units or the locale.
    expect(statement.predicate.resources.map((resource) => resource.name)).toEqual([
      'Zeta.json',
      'data/x.bin',
      'model.onnx',
      'é.txt',
      '𝒳.bin',
    ]);
    expect((await specSchemas()).statement(statement)).toBe(true);
    expect(() => omsStatement('pump', [])).toThrow('at least one file');
    expect(() => omsStatement('pump', [{ name: '../x', sha256: digest('a') }])).toThrow('"../x"');
  });

  it('names every file that differs from what was signed', () => {
    const signed: OmsStatement = omsStatement('pump', [
      { name: 'model.onnx', sha256: 'a'.repeat(64) },
      { name: 'metrics.json', sha256: 'b'.repeat(64) },
    ]);
    expect(
      manifestProblems(signed, [
        { name: 'model.onnx', sha256: 'a'.repeat(64) },
        { name: 'metrics.json', sha256: 'b'.repeat(64) },
      ]),
    ).toEqual([]);
    expect(
      manifestProblems(signed, [
        { name: 'model.onnx', sha256: 'f'.repeat(64) },
        { name: 'extra.txt', sha256: 'c'.repeat(64) },
      ]),
    ).toEqual([
      '"metrics.json" is signed but missing',
      `"model.onnx" changed: sha256 ${'f'.repeat(64)}, signed ${'a'.repeat(64)}`,
      '"extra.txt" is not among the signed files',
    ]);
    const forged = { ...signed, subject: [{ name: 'pump', digest: { sha256: '0'.repeat(64) } }] };
    expect(
      manifestProblems(forged, [
        { name: 'model.onnx', sha256: 'a'.repeat(64) },
        { name: 'metrics.json', sha256: 'b'.repeat(64) },
      ]),
    ).toEqual(['the statement’s subject is not the root digest of its own file list']);
  });
});
