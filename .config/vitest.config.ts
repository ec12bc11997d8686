import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/helpers/per-file.ts'],
    // Two files at a time even on 2 cores (vitest's default would be one): most tests wait on
    // git, child processes and loopback servers, so the second worker fills the gaps
    // (npm test 336 s → 226 s on this 2-core machine).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Each worker keeps its modules between files instead of importing probot, Octokit, the
    // Kubernetes client and ONNX Runtime again for every one of the 73 files (npm test 242 s →
    // 191 s here). Nothing a file changes outlives it: no module mocks, no stubbed globals or
    // environment, metrics in registries of their own, and nock's patch of http taken off after
    // each file that loaded it (test/helpers/per-file.ts).
    isolate: false,
    // A guard against hangs, not a speed verdict: long enough for a machine whose cores are all busy.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
