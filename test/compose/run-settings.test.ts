import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEnvironmentSchema, runSettingsDoc } from '../../src/compose/run-settings.ts';
import { ROOT } from '../helpers/fixtures.ts';

describe('the environment of the CLI, the steps and serve: one schema', () => {
  it('is listed in docs/run-settings.md as npm run schema writes it', async () => {
    expect(await readFile(join(ROOT, 'docs/run-settings.md'), 'utf8')).toBe(runSettingsDoc());
  });

  it('names every variable a command mentions', async () => {
    // What the commands tell users to set (flag help, errors) is in the schema, and so documented.
    const sources = await Promise.all(
      [
        'src/cli/commands/serve.ts',
        'src/cli/commands/cloud-run.ts',
        'src/serve/options.ts',
        'src/cli/commands/release.ts',
      ].map((file) => readFile(join(ROOT, file), 'utf8')),
    );
    const mentioned = new Set(sources.join('\n').match(/\bEDGESHIP_[A-Z_]+\b/g));
    expect([...mentioned].filter((name) => !(name in runEnvironmentSchema.shape))).toEqual([]);
  });
});
