import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.ts';
import { modelZoo } from '../helpers/model-zoo.ts';

const BIN = join(ROOT, 'bin/edgeship.js');

/** `edgeship serve` as the templates run it: arguments, EDGESHIP_* variables, SIGTERM to stop. */
function serve(args: string[], env: Record<string, string>) {
  // Through the package's bin, as `npx edgeship serve` runs it in a fresh clone (no build).
  const child = spawn(process.execPath, [BIN, 'serve', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
  it('serves EDGESHIP_MODEL on the port it is given, probes on EDGESHIP_HEALTH_PORT, and stops cleanly on SIGTERM', async () => {
    const server = serve(['--port', '0'], {
      EDGESHIP_MODEL: join(inject('exampleOutputs'), 'model.onnx'),
      EDGESHIP_MODEL_VERSION: '1.4.0',
      EDGESHIP_HEALTH_PORT: '0',
    });
    const port = await server.port;
    const ready = await fetch(`http://127.0.0.1:${port}/v2/models/model/ready`);
    expect(ready.status).toBe(200);
    const { healthPort } = JSON.parse(
      server
        .stderr()
        .split('\n')
        .find((line) => line.includes('Serving over')) ?? '{}',
    ) as { healthPort?: number };
    expect(healthPort).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${healthPort}/v2/health/ready`)).json()).toEqual({ ready: true });
    expect(await (await fetch(`http://127.0.0.1:${port}/v2/models/model`)).json()).toMatchObject({
      versions: ['1.4.0'],
    });
    server.child.kill('SIGTERM');
    const [code] = (await once(server.child, 'exit')) as [number];
    expect(code).toBe(0);
    expect(server.stderr()).toContain('"message":"Shutting down: no new connections, finishing requests in flight"');
  });

  it('answers all of 40 requests of batch 1,024 in flight when SIGTERM comes 400 ms in: no reset', async () => {
    const server = serve(['--port', '0', '--shutdown-delay-seconds', '1'], {
      EDGESHIP_MODEL: join(inject('exampleOutputs'), 'model.onnx'),
    });
    const port = await server.port;
    const rows = 1024;
    const body = JSON.stringify({
      inputs: [
        {
          name: 'readings',
          shape: [rows, 32, 3],
          datatype: 'FP32',
          data: Array.from({ length: rows * 96 }, (_, index) => 40 + (index % 17)),
        },
      ],
    });
    const send = () =>
      new Promise<number | string>((resolve) => {
        // A connection of its own each, as 40 clients: nothing to reuse, nothing to reset quietly.
        const request = httpRequest(
          `http://127.0.0.1:${port}/v2/models/model/infer`,
          { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
          (response) => {
            response.resume();
            response.on('end', () => resolve(response.statusCode ?? 0));
            response.on('error', (error) => resolve(error.message));
          },
        );
        request.on('error', (error) => resolve(error.message));
        request.end(body);
      });
    const answers = Promise.all(Array.from({ length: 40 }, send));
    await new Promise((resolve) => setTimeout(resolve, 400));
    server.child.kill('SIGTERM');
    const results = await answers;
    expect(results.filter((result) => result !== 200)).toEqual([]);
    const [code] = (await once(server.child, 'exit')) as [number];
    expect(code).toBe(0);
  });

  it('serves OIP with one warning when the EdgeX mapping does not fit the model', async () => {
    // EDGESHIP_MAX_BATCH_ROWS=0 is what an overlay of a model with serving.batching: false sets.
    const server = serve(['--port', '0', '--edgex-features', 'temperature,vibration'], {
      EDGESHIP_MODEL: join(inject('exampleOutputs'), 'model.onnx'),
      EDGESHIP_MAX_BATCH_ROWS: '0',
    });
    const port = await server.port;
    expect(server.stderr()).toContain('"batching":{"rows":0,"why":"batching is off');
    expect((await fetch(`http://127.0.0.1:${port}/v2/health/ready`)).status).toBe(200);
    const warnings = server
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"level":"warn"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('EdgeX input is off');
    expect(warnings[0]).toContain('has no fixed axis of 2 features (temperature, vibration)');
    server.child.kill('SIGTERM');
    await once(server.child, 'exit');
  });

  it('serves a model with a second input: EdgeX off with one warning naming it, or on with the value the operator names', async () => {
    const model = join(await modelZoo(), 'window-and-id.onnx');
    const event = (device: string, step: number) => ({
      deviceName: device,
      readings: [
        ...['a', 'b', 'c', 'd'].map((name, channel) => ({ resourceName: name, value: String(channel + step) })),
        { resourceName: 'SensorId', value: '7' },
      ],
    });
    const post = (port: number, body: unknown) =>
      fetch(`http://127.0.0.1:${port}/v2/models/model/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const off = serve(['--port', '0', '--name', 'model', '--edgex-features', 'a,b,c,d'], { EDGESHIP_MODEL: model });
    const offPort = await off.port;
    const warnings = off
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"level":"warn"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('EdgeX input is off');
    expect(warnings[0]).toContain(
      'the model\'s input \\"sensor_id\\" is not filled by the events; name its value with --edgex-value sensor_id=<number or resource name>',
    );
    // Events are refused as such (400), never a 500; OIP requests are served.
    const refused = await post(offPort, event('pump-1', 0));
    expect(refused.status).toBe(400);
    const oip = await post(offPort, {
      inputs: [
        { name: 'window', datatype: 'FP32', shape: [1, 4, 8], data: Array<number>(32).fill(1) },
        { name: 'sensor_id', datatype: 'INT64', shape: [1], data: [5] },
      ],
    });
    expect(
      ((await oip.json()) as { outputs: { name: string; data: number[] }[] }).outputs.find(
        (output) => output.name === 'score',
      )?.data,
    ).toEqual([37]);
    off.child.kill('SIGTERM');
    await once(off.child, 'exit');

    const on = serve(
      ['--port', '0', '--name', 'model', '--edgex-features', 'a,b,c,d', '--edgex-value', 'sensor_id=SensorId'],
      { EDGESHIP_MODEL: model },
    );
    const onPort = await on.port;
    expect(on.stderr()).not.toContain('EdgeX input is off');
    for (let step = 0; step < 7; step += 1) expect((await post(onPort, event('pump-1', step))).status).toBe(202);
    const full = await post(onPort, event('pump-1', 7));
    expect(full.status).toBe(200);
    // Channels 0..3 over steps 0..7: sum over channels and steps of (channel + step) = 8·6 + 4·28 = 160, plus the id 7.
    const outputs = ((await full.json()) as { outputs: { name: string; data: number[] }[] }).outputs;
    expect(outputs.find((output) => output.name === 'score')?.data).toEqual([167]);
    expect(outputs.find((output) => output.name === 'sensor')?.data).toEqual([7]);
    on.child.kill('SIGTERM');
    await once(on.child, 'exit');
  });

  it('refuses --offload without a cloud endpoint, naming the setting', async () => {
    const server = serve(['--port', '0', '--offload'], { EDGESHIP_MODEL: '', EDGESHIP_OFFLOAD_URL: '' });
    await expect(server.port).rejects.toThrow(
      '--offload: expected the cloud endpoint in EDGESHIP_OFFLOAD_URL or --offload-url, found none',
    );
  });

  it('exits naming --health-port when that port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const server = serve(['--port', '0', '--health-port', String(port)], {
        EDGESHIP_MODEL: join(inject('exampleOutputs'), 'model.onnx'),
      });
      await expect(server.port).rejects.toThrow('--health-port: cannot listen');
      const code = server.child.exitCode ?? ((await once(server.child, 'exit')) as [number])[0];
      expect(code).not.toBe(0);
      expect(server.stderr()).toContain(`--health-port: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
    } finally {
      taken.close();
    }
  });
});
