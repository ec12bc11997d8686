import { generateKeyPairSync } from 'node:crypto';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { artifactStoreFor } from '../../src/adapters/oci/index.ts';
import { keyFileSigner } from '../../src/adapters/signing/key-signer.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { publish } from '../../src/services/publish.ts';
import { copyExampleOutputs } from '../helpers/fixtures.ts';
import { evaluationReport } from '../helpers/release-world.ts';
import { runEdgeship } from '../helpers/cli.ts';

const scratch = await mkdtemp(join(tmpdir(), 'edgeship-sign-cli-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));

const keyFiles = async (name: string) => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const files = { private: join(scratch, `${name}.key`), public: join(scratch, `${name}.pub`) };
  await writeFile(files.private, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(files.public, pair.publicKey.export({ type: 'spki', format: 'pem' }));
  return files;
};

describe('edgeship sign and verify', () => {
  it('signs the training outputs, verifies them with the key, and says no (exit 1) to a change, another key or no signature', async () => {
    const outputs = await copyExampleOutputs(join(scratch, 'outputs'));
    const operator = await keyFiles('operator');
    const other = await keyFiles('other');
    const run = (args: string[]) => runEdgeship(args, { cwd: scratch, env: process.env });

    const signed = await run(['sign', outputs, '--key', operator.private]);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/^✔ signed 4 files of out with key [0-9a-f]{64}\nwrote .*model\.sig\n$/);
    const verified = await run(['verify', outputs, '--key', other.public, '--key', operator.public]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/: 4 files as signed by key [0-9a-f]{64}\n$/);

    expect(await run(['verify', outputs, '--key', other.public])).toMatchObject({
      code: 1,
      stdout: expect.stringMatching(
        /^✖ .*model\.sig: signed by key [0-9a-f]{64}, which is not among the 1 trusted\n$/,
      ) as string,
    });
    const changed = join(scratch, 'changed');
    await cp(outputs, changed, { recursive: true });
    await writeFile(join(changed, 'metrics.json'), '{"f1": 0.99}\n');
    expect(await run(['verify', changed, '--key', operator.public])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining('"metrics.json" changed: sha256 ') as string,
    });
    const unsigned = await copyExampleOutputs(join(scratch, 'unsigned'));
    expect(await run(['verify', unsigned, '--key', operator.public])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining('model.sig: no signature (sign the model with edgeship sign)') as string,
    });
    // serve with trusted keys does not start on a model without a signature.
    const refused = await run([
      'serve',
      '--model',
      join(unsigned, 'model.onnx'),
      '--port',
      '0',
      '--trusted-key',
      operator.public,
    ]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('no signature (no model.sig beside it), and this server loads only signed models');
    // A key that is not one is the command line's fault (exit 2), named with its file.
    expect(await run(['sign', outputs, '--key', join(outputs, 'metrics.json')])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--key: expected a private key in PEM in') as string,
    });
  }, 60_000);
  it('verifies a published artifact by its reference: pulled, every file against the signature attached to it', async () => {
    const operator = await keyFiles('publisher');
    const other = await keyFiles('someone-else');
    const directory = await copyExampleOutputs(join(scratch, 'to-publish'));
    const store = artifactStoreFor(`oci-layout:${join(scratch, 'oci')}`);
    const pushed = await publish(
      store,
      await collectOutputs(directory),
      await evaluationReport(),
      {},
      keyFileSigner(operator.private),
    );
    const run = (args: string[]) => runEdgeship(args, { cwd: scratch, env: process.env });
    const verified = await run(['verify', pushed.reference, '--key', operator.public]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/: 5 files as signed by key [0-9a-f]{64}\n$/);
    expect(await run(['verify', pushed.reference, '--key', other.public])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining(`${pushed.reference}: `) as string,
    });
  }, 60_000);
});
