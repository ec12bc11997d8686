/**
 * CLI start-up: `edgeship --help` and `edgeship inspect` through bin/edgeship.js, from the built
 * CLI (npm run build; aim < 0.5 s for --help) and from the TypeScript sources through tsx, each
 * against a bare `node -e 0` started the same way in the same run. Builds dist/ for the run when
 * it is not there, and removes it again.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { benchModels } from './models.ts';
import { sized } from './mode.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = sized(5, 1);

function median(command: string[]): number {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const start = performance.now();
    const result = spawnSync(process.execPath, command, { cwd: ROOT, stdio: 'ignore' });
    times.push(performance.now() - start);
    if (result.status !== 0) throw new Error(`node ${command.join(' ')} exited ${result.status}`);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}

export async function cliBench(): Promise<void> {
  const [model] = await benchModels();
  const dist = `${ROOT}dist`;
  const built = existsSync(dist);
  const bare = median(['-e', '0']);
  const rows: string[] = [];
  const measure = (label: string) => {
    const help = median(['bin/edgeship.js', '--help']);
    const inspect = model ? median(['bin/edgeship.js', 'inspect', model.file]) : NaN;
    rows.push(
      `${label.padEnd(26)}${help.toFixed(0).padStart(8)} ms  (${(help / bare).toFixed(1)}× node -e 0)${inspect.toFixed(0).padStart(10)} ms`,
    );
  };
  try {
    if (!built) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
    measure('built (dist/)');
  } finally {
    if (!built) rmSync(dist, { recursive: true, force: true });
  }
  if (!existsSync(dist)) measure('sources through tsx');
  console.log(`\nCLI start-up, median of ${RUNS} (node -e 0: ${bare.toFixed(0)} ms):`);
  console.log(`${''.padEnd(26)}${'--help'.padStart(8)}${''.padEnd(25)}${'inspect'.padStart(10)}`);
  for (const row of rows) console.log(row);
  console.log('(aim: --help under 500 ms from the built CLI)');
}
