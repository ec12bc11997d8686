import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CLI, TSX } from '../helpers/cli.ts';

/** `edgeship serve` as the templates run it: arguments, EDGESHIP_* variables, SIGTERM to stop. */
function serve(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--host', '127.0.0.1', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const port = new Promise<number>((resolve, reject) => {
    child.stderr.on('data', () => {
      const line = stderr.split('\n').find((entry) => entry.includes('Serving over the Open Inference Protocol v2'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', () => reject(new Error(`edgeship serve exited: ${stderr}`)));
  });
  return { child, port, stderr: () => stderr };
}

describe('edgeship serve from the command line', () => {
  it('serves EDGESHIP_MODEL on the port it is given and stops cleanly on SIGTERM', async () => {
    const server = serve(['--port', '0'], { EDGESHIP_MODEL: join(inject('exampleOutputs'), 'model.onnx'), EDGESHIP_MODEL_VERSION: '1.4.0' });
    const port = await server.port;
    const ready = await fetch(`http://127.0.0.1:${port}/v2/models/model/ready`);
    expect(ready.status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${port}/v2/models/model`)).json()).toMatchObject({ versions: ['1.4.0'] });
    server.child.kill('SIGTERM');
    const [code] = (await once(server.child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(server.stderr()).toContain('"message":"Shutting down: finishing requests in flight"');
  });

  it('refuses --offload without a cloud endpoint, naming the setting', async () => {
    const server = serve(['--port', '0', '--offload'], { EDGESHIP_MODEL: '', EDGESHIP_OFFLOAD_URL: '' });
    await expect(server.port).rejects.toThrow('--offload: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none');
  });
});
