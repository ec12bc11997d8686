#!/usr/bin/env node
// The edgeship command: the built CLI when there is one (npm run build), else the TypeScript
// sources through tsx, so `npx edgeship` works in a fresh clone without a build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/main.js', import.meta.url);
try {
  if (existsSync(built)) {
    await import(built.href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    await import(new URL('../src/cli/main.ts', import.meta.url).href);
  }
} catch (error) {
  // A clone whose npm packages are not installed yet: say so in one line, not with a stack.
  const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && /Cannot find package '([^']+)'/.exec(String(error.message));
  if (!missing) throw error;
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`error: edgeship's npm packages are not installed in ${root} (no package "${missing[1]}"): run \`bash .ci/setup\` there (or \`ONNXRUNTIME_NODE_INSTALL=skip npm ci\`), then try again\n`);
  process.exitCode = 3;
}
