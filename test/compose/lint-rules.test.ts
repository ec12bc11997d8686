import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.ts';

/** The house rules `npm run check` holds every file under src/ to, tried on code that breaks them. */
describe('the lint rules of the layout', () => {
  const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: join(ROOT, '.config/eslint.config.js') });
  // Files of the project (its type-aware rules see only those), with other code in them.
  const rulesBroken = async (file: string, code: string) =>
    (await eslint.lintText(code, { filePath: join(ROOT, file) }))[0]?.messages.map((message) => message.ruleId) ?? [];

  it('keeps process.env in the composition modules: a service that reads it is refused', async () => {
    const code = 'export const token = process.env.EDGESHIP_SECRET;\n';
    expect(await rulesBroken('src/services/rollout.ts', code)).toContain('no-restricted-properties');
    expect(await rulesBroken('src/compose/local.ts', code)).not.toContain('no-restricted-properties');
  }, 120_000);

  it('keeps JSON.parse in core/parse-json.ts: an adapter that parses a body itself is refused', async () => {
    const code = 'export const read = (text: string): unknown => JSON.parse(text);\n';
    expect(await rulesBroken('src/adapters/http/json-api.ts', code)).toContain('no-restricted-syntax');
    expect(await rulesBroken('src/core/parse-json.ts', code)).not.toContain('no-restricted-syntax');
  }, 120_000);

  it('refuses an import cycle: formats.ts importing config.ts, which imports formats.ts', async () => {
    expect(
      await rulesBroken(
        'src/core/formats.ts',
        "import { configSchema } from './config.ts';\nexport const schema = configSchema;\n",
      ),
    ).toContain('import-x/no-cycle');
    expect(
      await rulesBroken('src/core/formats.ts', "import { z } from 'zod';\nexport const schema = z.string();\n"),
    ).not.toContain('import-x/no-cycle');
  }, 120_000);
});
