import { describe, expect, it } from 'vitest';
import { driftFor, offloadOf, type ServeFlags } from '../../src/serve/options.ts';
import { silent } from './helpers.ts';

const FLAGS: ServeFlags = { host: '0.0.0.0', port: '8080', offloadTimeoutMs: '2000', maxBodyMb: '16', maxBatchRows: '256', inlineMaxMs: '0.1', drainMs: '3000', graceSeconds: '25', driftThreshold: '0.2', driftWindows: '3', driftWindow: '2000', driftCooldownMinutes: '360' };

describe('edgeship serve settings', () => {
  it('takes the offload endpoint from the flag or, with --offload, from EDGESHIP_OFFLOAD_URL as the templates set it', () => {
    expect(offloadOf({ ...FLAGS, offload: true }, { EDGESHIP_OFFLOAD_URL: 'https://models.example/pump' })).toEqual({ url: 'https://models.example/pump', timeoutMs: 2000 });
    expect(offloadOf(FLAGS, { EDGESHIP_OFFLOAD_URL: 'https://models.example/pump' })).toBeUndefined();
  });

  it.each([
    [() => offloadOf({ ...FLAGS, offload: true }, {}), '--offload: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none'],
    [() => offloadOf({ ...FLAGS, offloadUrl: 'models.example' }, {}), '--offload-url: expected an http(s) URL, found "models.example"'],
    [() => offloadOf({ ...FLAGS, offloadUrl: 'http://cloud', offloadTimeoutMs: 'soon' }, {}), '--offload-timeout-ms: expected a positive number of milliseconds, found "soon"'],
    [() => driftFor({ ...FLAGS, driftRepo: 'acme' }, {}, silent), '--drift-repo: expected owner/name of the model repo, found "acme"'],
    [() => driftFor({ ...FLAGS, driftRepo: 'acme/pump' }, {}, silent), '--drift-repo: expected a token in EDGESHIP_GITHUB_TOKEN or GITHUB_TOKEN to send repository_dispatch, found none'],
    [() => driftFor({ ...FLAGS, driftWindows: '1.5' }, {}, silent), '--drift-windows: expected a whole number of windows, found "1.5"'],
  ])('names the setting that is wrong (%#)', (run, message) => {
    expect(run).toThrow(message);
  });
});
