import { resolve } from 'node:path';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'model-repo-example/', 'coverage/', '.demo/', '.scratch/', '.config/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['bin/*.js'] },
        tsconfigRootDir: resolve(import.meta.dirname, '..'),
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Fakes and adapters implement async ports without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // No import cycle anywhere in src/: every module can be read after what it imports.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // Core is pure: no I/O, no vendor SDKs.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            'node:fs*',
            'node:child_process',
            'node:net',
            'node:http*',
            'onnxruntime-node',
            'simple-git',
            'probot',
            '@octokit/*',
            '@kubernetes/*',
            '../adapters/*',
            '../services/*',
          ],
        },
      ],
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
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: others.flatMap((other) => [`../${other}/*`, `../../${other}/*`]) },
      ],
    },
  })),
  {
    // Settings are read once, by a composition module (the app's compose/app-settings.ts, the
    // CLI's, the steps' and serve's compose/run-settings.ts), and passed in: nothing else reads
    // the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/compose/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read settings in a composition module (src/compose/) and pass them in.',
        },
      ],
    },
  },
  {
    // JSON from outside is read by core/parse-json.ts, held to a schema, its problems said one way.
    files: ['src/**/*.ts'],
    ignores: ['src/core/parse-json.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='JSON'][callee.property.name='parse']",
          message:
            'Read JSON with parseJsonWith (or parseJson, jsonOrUndefined) from src/core/parse-json.ts, so it is checked and its errors name the field.',
        },
      ],
    },
  },
);
