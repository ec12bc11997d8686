import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Two files at a time even on 2 cores (vitest's default would be one): most tests wait on
    // git, child processes and loopback servers, so the second worker fills the gaps
    // (npm test 336 s → 226 s on this 2-core machine).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // A guard against hangs, not a speed verdict: long enough for a machine whose cores are all busy.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
