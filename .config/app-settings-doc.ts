// Writes docs/app-settings.md from the app's one settings schema (npm run schema runs it).
import { writeFileSync } from 'node:fs';
import { appSettingsDoc } from '../src/compose/app-settings.ts';

writeFileSync(new URL('../docs/app-settings.md', import.meta.url), appSettingsDoc());
