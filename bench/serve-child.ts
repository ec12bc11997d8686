import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '../test/helpers/registry.ts';
import { builtCli } from './built.ts';

/**
 * `edgeship serve` in a child process, built as it runs in a pod (bench/built.ts); with `cpu`,
 * pinned to that core by taskset (two "machines" on one host). Resolves once it answers ready.
 */
export async function serveChild(
  args: string[],
  options: { cpu?: number; stderr?: (line: string) => void } = {},
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const command = [process.execPath, await builtCli(), 'serve', '--host', '127.0.0.1', '--port', String(port), ...args];
  const child =
    options.cpu === undefined
      ? spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('taskset', ['-c', String(options.cpu), ...command], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n')) if (line) options.stderr?.(line);
  });
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, child };
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error(`edgeship serve ${args.join(' ')} did not become ready`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}
