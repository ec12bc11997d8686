import { createRequire } from 'node:module';
import type nockModule from 'nock';
import { afterAll } from 'vitest';

const require = createRequire(import.meta.url);

/**
 * Runs around every test file (setupFiles). Test files share their worker's modules (isolate:
 * false), so what one file turns on must be off for the next: nock, once loaded, patches Node's
 * http for the whole process, and a patched http client turns keep-alive off (a server test of
 * keep-alive clients failed that way). After a file that loaded nock, the patch comes off;
 * FakeGitHub and the nock tests put it back on (nock.activate) when they start.
 */
afterAll(() => {
  const loaded = require.cache[require.resolve('nock')];
  if (!loaded) return;
  const nock = loaded.exports as typeof nockModule;
  nock.cleanAll();
  nock.enableNetConnect();
  nock.restore();
});
