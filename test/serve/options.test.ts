import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptiveOf, driftFor, imageModelOf, jointOf, offloadOf, type ServeFlags } from '../../src/serve/options.ts';
import { silent } from './helpers.ts';

const FLAGS: ServeFlags = {
  host: '0.0.0.0',
  port: '8080',
  offloadTimeoutMs: '2000',
  maxBodyMb: '16',
  maxBatchRows: '256',
  inlineMaxMs: '0.1',
  drainMs: '3000',
  graceSeconds: '25',
  driftThreshold: '0.2',
  driftWindows: '3',
  driftWindow: '2000',
  driftCooldownMinutes: '360',
  probeShare: '0.05',
  dwellSeconds: '15',
};

describe('edgeship serve settings', () => {
  it('takes the offload endpoint from the flag or, with --offload, from EDGESHIP_OFFLOAD_URL as the templates set it', () => {
    expect(offloadOf({ ...FLAGS, offload: true }, { EDGESHIP_OFFLOAD_URL: 'https://models.example/pump' })).toEqual({
      url: 'https://models.example/pump',
      timeoutMs: 2000,
    });
    expect(offloadOf(FLAGS, { EDGESHIP_OFFLOAD_URL: 'https://models.example/pump' })).toBeUndefined();
  });

  it('takes a joint site from the flags or the variables, and refuses one that cannot be joint', () => {
    const flags = { host: '127.0.0.1', port: '0' } as ServeFlags;
    expect(jointOf(flags, {}, true, true)).toBeUndefined();
    expect(jointOf({ ...flags, jointThreshold: '0.8' }, {}, true, true)).toEqual({ threshold: 0.8 });
    expect(
      jointOf(flags, { EDGESHIP_JOINT_THRESHOLD: '0.6', EDGESHIP_CONFIDENCE_OUTPUT: 'confidence' }, true, true),
    ).toEqual({ threshold: 0.6, confidenceOutput: 'confidence' });
    expect(() => jointOf({ ...flags, jointThreshold: '1.5' }, {}, true, true)).toThrow(
      /--joint-threshold: expected a confidence from 0 to 1/,
    );
    expect(() => jointOf({ ...flags, jointThreshold: '0.8' }, {}, true, false)).toThrow(
      /set --offload-url or EDGESHIP_OFFLOAD_URL/,
    );
    expect(() => jointOf({ ...flags, jointThreshold: '0.8' }, {}, false, true)).toThrow(
      /answers with its own model first/,
    );
    expect(() => jointOf({ ...flags, jointThreshold: '0.8', adaptive: true }, {}, true, true)).toThrow(/not both/);
  });

  it('takes the adaptive settings from the flags or the variables the GitOps overlay sets', () => {
    expect(adaptiveOf(FLAGS, { EDGESHIP_LATENCY_BUDGET_MS: '5' }, true, true)).toBeUndefined();
    expect(
      adaptiveOf(
        { ...FLAGS, adaptive: true },
        { EDGESHIP_LATENCY_BUDGET_MS: '5', EDGESHIP_MAX_LOCAL_CPU: '0.25' },
        true,
        true,
      ),
    ).toMatchObject({ budgetMs: 5, maxLocalCpu: 0.25, probeShare: 0.05, dwellMs: 15_000 });
    expect(
      adaptiveOf({ ...FLAGS, adaptive: true, latencyBudgetMs: '8' }, { EDGESHIP_LATENCY_BUDGET_MS: '5' }, true, true),
    ).toMatchObject({ budgetMs: 8, maxLocalCpu: 0.5 });
  });

  it('finds no model in an image that carries none, and refuses one whose edgeship.json does not name it', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'edgeship-image-'));
    try {
      await expect(imageModelOf(directory)).resolves.toBeUndefined();
      await writeFile(join(directory, 'model.onnx'), 'onnx');
      await writeFile(join(directory, 'edgeship.json'), '{"model": "../pump", "version": "1.0.0"}');
      await expect(imageModelOf(directory)).rejects.toThrow(
        `${join(directory, 'edgeship.json')}: expected {"model": <name>, "version": <semver>}, found {"model":"../pump","version":"1.0.0"}`,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it.each([
    [
      () => offloadOf({ ...FLAGS, offload: true }, {}),
      '--offload: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none',
    ],
    [
      () => offloadOf({ ...FLAGS, offloadUrl: 'models.example' }, {}),
      '--offload-url: expected an http(s) URL, found "models.example"',
    ],
    [
      () => offloadOf({ ...FLAGS, offloadUrl: 'http://cloud', offloadTimeoutMs: 'soon' }, {}),
      '--offload-timeout-ms: expected a positive number of milliseconds, found "soon"',
    ],
    [
      () => driftFor({ ...FLAGS, driftRepo: 'acme' }, {}, silent),
      '--drift-repo: expected owner/name of the model repo, found "acme"',
    ],
    [
      () => driftFor({ ...FLAGS, driftRepo: 'acme/pump' }, {}, silent),
      '--drift-repo: expected a token in EDGESHIP_GITHUB_TOKEN or GITHUB_TOKEN to send repository_dispatch, found none',
    ],
    [
      () => driftFor({ ...FLAGS, driftWindows: '1.5' }, {}, silent),
      '--drift-windows: expected a whole number of windows, found "1.5"',
    ],
    [
      () => adaptiveOf({ ...FLAGS, adaptive: true }, {}, false, true),
      '--adaptive: expected a local model (--model or EDGESHIP_MODEL)',
    ],
    [
      () => adaptiveOf({ ...FLAGS, adaptive: true }, {}, true, false),
      '--adaptive: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none',
    ],
    [
      () => adaptiveOf({ ...FLAGS, adaptive: true }, {}, true, true),
      "--adaptive: expected the target's latency budget in --latency-budget-ms or EDGESHIP_LATENCY_BUDGET_MS, found none",
    ],
    [
      () =>
        adaptiveOf(
          { ...FLAGS, adaptive: true },
          { EDGESHIP_LATENCY_BUDGET_MS: '5', EDGESHIP_MAX_LOCAL_CPU: '150%' },
          true,
          true,
        ),
      '--max-local-cpu: expected a share of the gateway\'s CPU above 0 and at most 1, found "150%"',
    ],
  ])('names the setting that is wrong (%#)', (run, message) => {
    expect(run).toThrow(message);
  });
});
