import { resolve } from 'node:path';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'model-repo-example/', 'coverage/', '.demo/', '.scratch/', '.config/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['bin/*.js'] }, tsconfigRootDir: resolve(import.meta.dirname, '..') } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Fakes and adapters implement async ports without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Core is pure: no I/O, no vendor SDKs.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: ['node:fs*', 'node:child_process', 'node:net', 'node:http*', 'onnxruntime-node', 'simple-git', 'probot', '@octokit/*', '@kubernetes/*', '../adapters/*', '../services/*'],
      }],
    },
  },
  // Front ends stand side by side: none imports another (what they share is in src/compose/).
  // `edgeship serve` is the CLI's way into the inference server, so the CLI may import src/serve/.
  ...[
    ['actions', ['cli', 'app', 'serve']],
    ['app', ['cli', 'actions', 'serve']],
    ['serve', ['cli', 'app', 'actions']],
    ['cli', ['app', 'actions']],
  ].map(([front, others]) => ({
    files: [`src/${front}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: others.flatMap((other) => [`../${other}/*`, `../../${other}/*`]) }] },
  })),
  {
    // Settings are read once, by a composition module, and passed in: nothing else reads the
    // environment. Until the CLI and the Actions steps have settings schemas of their own (as the
    // app has), the entry files that read it are named here, so no other file starts to.
    files: ['src/**/*.ts'],
    ignores: [
      'src/compose/**',
      'src/app/server.ts',
      'src/cli/commands/cloud-run.ts',
      'src/cli/commands/release.ts',
      'src/cli/commands/serve.ts',
      'src/cli/commands/site-token.ts',
      'src/cli/demo-setup.ts',
      'src/actions/evaluate.ts',
      'src/actions/profile.ts',
      'src/actions/publish.ts',
      'src/actions/report.ts',
      'src/actions/train.ts',
    ],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings in a composition module (src/compose/) and pass them in.' }],
    },
  },
);
