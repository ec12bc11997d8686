#!/usr/bin/env node
// The edgeship command: the built CLI when there is one (npm run build), else the TypeScript
// sources through tsx, so `npx edgeship` works in a fresh clone without a build step.
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/main.ts', import.meta.url).href);
}
