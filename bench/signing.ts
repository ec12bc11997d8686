/**
 * Verifying a signed model against hashing it: `edgeship verify`'s work (read and hash every
 * file, check the bundle's signature and list) on a 100 MB model (5 MB in smoke mode), against
 * `sha256sum` of the same files, in alternated rounds (aim ≤ 1.2×).
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { modelFiles } from '../src/adapters/signing/model-files.ts';
import { signModel, verifyModel } from '../src/adapters/signing/oms-bundle.ts';
import { percentile } from '../src/core/stats.ts';
import { sized } from './mode.ts';

const run = promisify(execFile);
const MODEL_MB = sized(100, 5);
const ROUNDS = sized(5, 1);

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export async function signingBench(): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'edgeship-signing-bench-'));
  try {
    // The model's weights and the small files training writes beside them.
    await writeFile(join(directory, 'model.onnx'), randomBytes(MODEL_MB * 2 ** 20));
    for (const name of ['metrics.json', 'golden.json', 'reference-stats.json', 'contract.json'])
      await writeFile(join(directory, name), randomBytes(4096).toString('hex'));
    const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const files = await modelFiles(directory);
    const bundle = JSON.stringify(
      await signModel('bench', files, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    );
    await writeFile(join(directory, 'model.sig'), bundle);
    const trusted = { keys: [pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()], identities: [] };
    const names = files.map((file) => join(directory, file.name));
    const ours: number[] = [];
    const floor: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      let started = performance.now();
      verifyModel(await readFile(join(directory, 'model.sig'), 'utf8'), await modelFiles(directory), trusted);
      ours.push(performance.now() - started);
      started = performance.now();
      await run('sha256sum', names);
      floor.push(performance.now() - started);
    }
    const ratio = median(ours.map((ms, index) => ms / (floor[index] as number)));
    console.log(
      `\nModel signing: verify a ${MODEL_MB} MB model (5 files) ${median(ours).toFixed(0)} ms, sha256sum of the same files ${median(floor).toFixed(0)} ms: ${ratio.toFixed(2)}× (median of ${ROUNDS} alternated rounds; aim ≤ 1.2×)`,
    );
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
