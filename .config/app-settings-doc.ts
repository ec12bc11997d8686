// Writes docs/app-settings.md and docs/run-settings.md from their settings schemas (npm run schema runs it).
import { writeFileSync } from 'node:fs';
import { appSettingsDoc } from '../src/compose/app-settings.ts';
import { runSettingsDoc } from '../src/compose/run-settings.ts';

writeFileSync(new URL('../docs/app-settings.md', import.meta.url), appSettingsDoc());
writeFileSync(new URL('../docs/run-settings.md', import.meta.url), runSettingsDoc());
