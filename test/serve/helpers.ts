import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { GoldenFile } from '../../src/core/golden.ts';
import { loadModel } from '../../src/serve/model.ts';
import { InferenceServer, type ServeOptions } from '../../src/serve/server.ts';

export const silent = { debug() {}, info() {}, warn() {}, error() {} };
export const MODEL_FILE = () => join(inject('exampleOutputs'), 'model.onnx');

/** The example model behind a server on a free loopback port; stop() closes both. */
export async function serving(options: Partial<ServeOptions> & { version?: string } = {}) {
  const { version = '1.0.0', ...rest } = options;
  const model =
    rest.model === undefined && !('model' in rest)
      ? await loadModel({ model: MODEL_FILE(), name: 'pump', version })
      : rest.model;
  const server = new InferenceServer({ log: silent, version, ...(model && { model }), ...rest });
  const port = await server.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${port}`;
  const call = async (path: string, body?: unknown, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      ...init,
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text.startsWith('{') ? JSON.parse(text) : text) as Record<string, unknown> & { error?: string },
    };
  };
  return { server, base, call, stop: () => server.close() };
}

/** An OIP request for the golden sample `index` of the example model, and the framework's outputs. */
export async function goldenRequest(index = 0) {
  const golden = JSON.parse(await readFile(join(inject('exampleOutputs'), 'golden.json'), 'utf8')) as GoldenFile;
  const sample = golden.samples[index];
  if (!sample) throw new Error(`no golden sample ${index}`);
  const readings = sample.inputs.readings;
  if (!readings) throw new Error('golden sample without readings');
  return {
    request: {
      id: `golden-${index}`,
      inputs: [{ name: 'readings', shape: readings.dims, datatype: 'FP32', data: readings.data }],
    },
    expected: sample.outputs.forecast?.data ?? [],
  };
}

/** A batch of `rows` windows of constant readings. */
export function batch(rows: number, values: [number, number, number] = [46, 2.6, 14.4]) {
  return {
    inputs: [
      {
        name: 'readings',
        shape: [rows, 32, 3],
        datatype: 'FP32',
        data: Array.from({ length: rows * 32 }, () => values).flat(),
      },
    ],
  };
}

/** A loopback HTTP server that records requests and answers with `reply`. */
export async function recorder(reply: (request: IncomingMessage, body: string) => [number, unknown] | 'hang') {
  const received: { method: string; url: string; headers: IncomingMessage['headers']; body: unknown; raw: string }[] =
    [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: body ? (JSON.parse(body) as unknown) : undefined,
        raw: body,
      });
      const answer = reply(request, body);
      if (answer === 'hang') {
        hanging.push(response);
        return;
      }
      response.writeHead(answer[0], { 'content-type': 'application/json' }).end(JSON.stringify(answer[1]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
