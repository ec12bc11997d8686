import { Agent, get, request as httpRequest } from 'node:http';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { InferenceWorker } from '../../src/adapters/onnx/inference-pool.ts';
import { loadModel } from '../../src/serve/model.ts';
import { batch, goldenRequest, MODEL_FILE, serving } from './helpers.ts';

describe('edgeship serve: the Open Inference Protocol v2', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });
  const start = async (...args: Parameters<typeof serving>) => {
    const served = await serving(...args);
    stops.push(served.stop);
    return served;
  };

  it('answers health, server and model metadata, and infers what the framework computed', async () => {
    const { call } = await start();
    expect(await call('/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await call('/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
    expect((await call('/v2')).body).toMatchObject({
      name: 'edgeship',
      extensions: ['model_repository', 'binary_tensor_data', 'statistics'],
    });
    expect(await call('/v2/models/pump/versions/1.0.0/ready')).toEqual({
      status: 200,
      body: { name: 'pump', ready: true },
    });
    expect((await call('/v2/models/pump')).body).toEqual({
      name: 'pump',
      versions: ['1.0.0'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'readings', datatype: 'FP32', shape: [-1, 32, 3] }],
      outputs: [{ name: 'forecast', datatype: 'FP32', shape: [-1, 3] }],
    });
    const { request, expected } = await goldenRequest();
    const answer = await call('/v2/models/pump/infer', request);
    expect(answer).toMatchObject({
      status: 200,
      body: {
        model_name: 'pump',
        model_version: '1.0.0',
        id: 'golden-0',
        outputs: [{ name: 'forecast', datatype: 'FP32', shape: [1, 3] }],
      },
    });
    const data = (answer.body.outputs as { data: number[] }[])[0]?.data ?? [];
    data.forEach((value, index) => expect(value).toBeCloseTo(expected[index] ?? NaN, 3));
  });

  it('refuses bad requests with a status and a message naming the problem, and keeps serving', async () => {
    const { call } = await start({ maxBodyBytes: 64 * 1024 });
    const cases: [string, unknown, number, string][] = [
      [
        '/v2/models/pump/infer',
        { inputs: [{ name: 'readings', shape: [1, 30, 3], datatype: 'FP32', data: [] }] },
        400,
        'input "readings": expected shape [-1, 32, 3], found [1, 30, 3]',
      ],
      [
        '/v2/models/pump/infer',
        { inputs: [{ name: 'readings', shape: [1, 32, 3], datatype: 'FP64', data: [] }] },
        400,
        'input "readings": expected datatype FP32, found "FP64"',
      ],
      ['/v2/models/pump/infer', '{"inputs": [', 400, 'request body: invalid JSON'],
      ['/v2/models/pump/infer', batch(200), 413, 'over the 65536-byte limit'],
      ['/v2/models/fan/infer', batch(1), 404, 'unknown model "fan"; this server serves "pump" version 1.0.0'],
      ['/v2/models/pump/versions/0.9.0/infer', batch(1), 404, 'unknown model "pump" version 0.9.0'],
      ['/v2/models/pump/explain', batch(1), 404, 'no route for POST /v2/models/pump/explain'],
    ];
    for (const [path, body, status, message] of cases) {
      const answer = await call(path, body);
      expect(answer.status, path).toBe(status);
      expect(answer.body.error, path).toContain(message);
    }
    expect((await call('/v2/models/pump/infer', batch(2))).status).toBe(200);
    const metrics = (await call('/metrics')).body as unknown as string;
    expect(metrics).toMatch(/edgeship_inference_requests_total\{model="pump",code="400"\} 3/);
    expect(metrics).toMatch(/edgeship_inference_batch_size_bucket\{le="2",model="pump"\} 1/);
  });

  it('answers health checks while the model is busy: inference runs off the event loop', async () => {
    const model = await loadModel({ model: MODEL_FILE(), name: 'pump', version: '1.0.0' });
    const { call } = await start({ model });
    const worker = model.worker as InferenceWorker;
    const big = call('/v2/models/pump/infer', batch(16_384));
    await vi.waitFor(() => expect(worker.inFlight).toBe(1), { interval: 1, timeout: 20_000 });
    expect(await call('/v2/health/ready')).toEqual({ status: 200, body: { ready: true } });
    expect(worker.inFlight).toBe(1); // answered while ONNX Runtime was still running the batch
    expect((await big).status).toBe(200);
  });

  it('answers probes on its health port ahead of inference clients still waiting to be accepted', async () => {
    const { server, base, call } = await start();
    const healthPort = await server.listenHealth(0, '127.0.0.1');
    const health = `http://127.0.0.1:${healthPort}`;
    expect(await probe(`${health}/v2/health/live`)).toEqual({ status: 200, body: '{"live":true}' });
    expect(await probe(`${health}/v2/health/ready`)).toEqual({ status: 200, body: '{"ready":true}' });
    expect((await probe(`${health}/metrics`)).body).toContain('edgeship_inference_requests_total');
    expect(await probe(`${health}/v2/models/pump/infer`)).toEqual({
      status: 404,
      body: expect.stringContaining('on the health port (GET /v2/health/live, /v2/health/ready, /metrics)') as string,
    });
    // 300 clients have connected (the kernel completed their handshakes) and wait to be accepted:
    // Node accepts one connection per turn of the event loop. A probe on the inference port
    // waits behind them; one on the health port is accepted in the next turn.
    const crowd = await Promise.all(
      Array.from(
        { length: 300 },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect(Number(new URL(base).port), '127.0.0.1', () => resolve(socket)).on('error', reject);
          }),
      ),
    );
    const answered: string[] = [];
    await Promise.all([
      probe(`${base}/v2/health/live`).then(() => answered.push('inference port')),
      probe(`${health}/v2/health/live`).then(() => answered.push('health port')),
    ]);
    expect(answered).toEqual(['health port', 'inference port']);
    for (const socket of crowd) socket.destroy();
    expect((await call('/v2/health/live')).status).toBe(200);
  });

  it('answers on its health port from a thread of its own while the main thread is blocked, and no longer calls it live once it stands still', async () => {
    const { server } = await start();
    const healthPort = await server.listenHealth(0, '127.0.0.1', 300);
    const marker = join(await mkdtemp(join(tmpdir(), 'edgeship-health-')), 'answers.json');
    // A prober in another process; this process's main thread (the server's) blocks until the
    // prober has its answers, which only the health thread can give meanwhile.
    const prober = spawn(process.execPath, ['-e', PROBER, String(healthPort), marker], { stdio: 'ignore' });
    const exited = once(prober, 'exit');
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const end = Date.now() + 120_000;
    while (!existsSync(marker) && Date.now() < end) Atomics.wait(pause, 0, 0, 20);
    const answers = JSON.parse(await readFile(marker, 'utf8')) as {
      ready: { status: number; body: string };
      stalled: { status: number; body: string };
    };
    expect(answers.ready).toEqual({ status: 200, body: '{"ready":true}' });
    expect(answers.stalled.status).toBe(503);
    expect(answers.stalled.body).toMatch(/^\{"live":false,"error":"the main thread has not run for \d+ ms"\}$/);
    await exited;
    // The main thread runs again: live again.
    await vi.waitFor(
      async () =>
        expect(await probe(`http://127.0.0.1:${healthPort}/v2/health/live`)).toEqual({
          status: 200,
          body: '{"live":true}',
        }),
      { timeout: 20_000, interval: 50 },
    );
  });

  it("closes a connection that trickles its headers, as the app does, instead of holding it for Node's minutes", async () => {
    const { base } = await start({ headersTimeoutMs: 300, requestTimeoutMs: 600, timeoutCheckMs: 100 });
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST /v2/models/pump/infer HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 50);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    await once(socket, 'close');
    clearInterval(trickle);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('answers a request the model never finishes with a 504 by its deadline, and stops calling itself live while one waits past the limit', async () => {
    const real = await loadModel({ model: MODEL_FILE(), name: 'pump', version: '1.0.0' });
    // A pool that never answers (a wedged inference thread), as the server sees it.
    let since: number | undefined;
    const stuck = {
      ...real,
      worker: {
        contract: real.worker.contract,
        run: () => ((since ??= performance.now()), new Promise<never>(() => undefined)),
        oldestMs: () => (since === undefined ? 0 : performance.now() - since),
        close: () => real.worker.close(),
      },
    };
    const { call, server } = await start({ model: stuck, deadlineMs: 200, stuckMs: 400 });
    const healthPort = await server.listenHealth(0);
    expect(await call('/v2/health/live')).toEqual({ status: 200, body: { live: true } });
    expect(await call('/v2/models/pump/infer', batch(1))).toEqual({
      status: 504,
      body: { error: 'the model did not answer within 200 ms' },
    });
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${healthPort}/v2/health/live`)).status, { timeout: 5000 })
      .toBe(503);
    const live = await call('/v2/health/live');
    expect(live.status).toBe(503);
    expect(live.body.error).toMatch(/^a request has waited \d+ ms for the model \(limit 400 ms\)$/);
  });

  it('swaps to another model without dropping requests in flight', async () => {
    const { server, call } = await start();
    const inFlight = Array.from({ length: 20 }, () => call('/v2/models/pump/infer', batch(64)));
    await server.swap(await loadModel({ model: MODEL_FILE(), name: 'pump', version: '1.1.0' }));
    expect((await Promise.all(inFlight)).map((answer) => answer.status)).toEqual(Array<number>(20).fill(200));
    expect((await call('/v2/models/pump/infer', batch(1))).body).toMatchObject({ model_version: '1.1.0' });
  });

  it('loads a model on request through the model repository extension, for the admin token only', async () => {
    const { call } = await start({
      load: { token: 'admin-token', model: (source) => loadModel({ ...source, version: '2.0.0' }) },
    });
    const admin = { headers: { authorization: 'Bearer admin-token' } };
    expect(await call('/v2/repository/models/pump/load', { parameters: { reference: MODEL_FILE() } })).toMatchObject({
      status: 401,
      body: { error: 'loading a model needs Authorization: Bearer <EDGESHIP_ADMIN_TOKEN>' },
    });
    expect(
      await call(
        '/v2/repository/models/pump/load',
        { parameters: { reference: MODEL_FILE() } },
        { headers: { authorization: 'Bearer guess' } },
      ),
    ).toMatchObject({ status: 401 });
    expect(await call('/v2/repository/models/pump/load', { parameters: { reference: MODEL_FILE() } }, admin)).toEqual({
      status: 200,
      body: { name: 'pump', version: '2.0.0' },
    });
    expect((await call('/v2/models/pump')).body).toMatchObject({ versions: ['2.0.0'] });
    expect(await call('/v2/repository/models/pump/load', {}, admin)).toMatchObject({
      status: 400,
      body: { error: expect.stringContaining('"reference"') as string },
    });
  });

  it('does not load models on request without an admin token', async () => {
    const { call } = await start();
    expect(await call('/v2/repository/models/pump/load', { parameters: { reference: MODEL_FILE() } })).toMatchObject({
      status: 404,
      body: { error: expect.stringContaining('EDGESHIP_ADMIN_TOKEN') as string },
    });
  });

  it('says it is not ready on close but keeps taking connections for the shutdown delay, then stops: requests sent meanwhile are answered, none reset', async () => {
    // A delay a loaded machine's poll of readiness and 10 more requests fit in: sent after it, a
    // connection is refused or reset (the listener is closed), as the endpoints would have dropped the pod.
    const { server, call, base } = await start({ shutdownDelayMs: 3000, drainMs: 200 });
    const healthPort = await server.listenHealth(0);
    const heavy = async () => {
      const answer = await fetch(`${base}/v2/models/pump/infer`, {
        method: 'POST',
        body: JSON.stringify(batch(256)),
        headers: { connection: 'close' },
      });
      await answer.arrayBuffer();
      return answer.status;
    };
    // 40 large requests on connections of their own, the close right behind them.
    const first = Array.from({ length: 40 }, heavy);
    const closed = server.close();
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${healthPort}/v2/health/ready`)).status, { timeout: 2000 })
      .toBe(503);
    // During the delay the endpoints may still send new connections: they are answered too.
    const meanwhile = Array.from({ length: 10 }, heavy);
    expect(await Promise.all([...first, ...meanwhile])).toEqual(Array(50).fill(200));
    await closed;
    expect(server.listening).toBe(false);
    await expect(call('/v2/health/ready')).rejects.toThrow();
    stops.length = 0;
  });

  it('finishes requests in flight when it shuts down', async () => {
    // A model that answers when the test says so: three requests are surely in flight.
    const real = await loadModel({ model: MODEL_FILE(), name: 'pump', version: '1.0.0' });
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const worker = {
      contract: real.worker.contract,
      run: async (...args: Parameters<typeof real.worker.run>) => gate.then(() => real.worker.run(...args)),
      close: () => real.worker.close(),
    };
    const { server, call } = await start({ model: { ...real, worker } });
    const inFlight = Array.from({ length: 3 }, () => call('/v2/models/pump/infer', batch(1)));
    await vi.waitFor(() => expect(server.pending).toBe(3));
    const closed = server.close();
    release();
    expect((await Promise.all(inFlight)).map((answer) => answer.status)).toEqual([200, 200, 200]);
    await closed;
    expect(server.listening).toBe(false);
    stops.length = 0;
  });

  it('shuts down under keep-alive load without resetting a request: each client is told to close, then connections go', async () => {
    const { server, base } = await start({ drainMs: 60_000 });
    const body = JSON.stringify(batch(1));
    const answers: { status: number; close: boolean }[] = [];
    const errors: string[] = [];
    let closing: Promise<void> | undefined;
    // Ten keep-alive clients, each sending its next request as soon as it has an answer, until told to close.
    const client = () =>
      new Promise<void>((done) => {
        const agentOfClient = new Agent({ keepAlive: true, maxSockets: 1 });
        const next = () => {
          const request = httpRequest(
            `${base}/v2/models/pump/infer`,
            { method: 'POST', agent: agentOfClient, headers: { 'content-type': 'application/json' } },
            (response) => {
              response.resume();
              response.on('end', () => {
                const close = response.headers.connection === 'close';
                answers.push({ status: response.statusCode ?? 0, close });
                if (answers.length === 40) closing ??= server.close();
                if (close) {
                  agentOfClient.destroy();
                  done();
                } else next();
              });
            },
          );
          request.on('error', (error) => {
            errors.push(error.message);
            done();
          });
          request.end(body);
        };
        next();
      });
    await Promise.all(Array.from({ length: 10 }, client));
    await closing;
    expect(errors).toEqual([]);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(answers.filter((answer) => answer.close)).toHaveLength(10);
    // Not a connection attempt: once the port is free, another server may be given it.
    expect(server.listening).toBe(false);
    stops.length = 0;
  });
});

/** A GET on a new connection, as the kubelet probes. */
function probe(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let body = '';
      response
        .setEncoding('utf8')
        .on('data', (chunk: string) => (body += chunk))
        .on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** Asks the health port (argv[1]) for readiness, then for liveness until it is refused; writes both answers to argv[2]. */
const PROBER = `
const http = require('node:http');
const fs = require('node:fs');
const [port, marker] = process.argv.slice(1);
const get = (path) => new Promise((resolve, reject) => http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
  let body = '';
  response.setEncoding('utf8').on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: response.statusCode, body }));
}).on('error', reject));
(async () => {
  const ready = await get('/v2/health/ready');
  let stalled = await get('/v2/health/live');
  while (stalled.status === 200) stalled = await get('/v2/health/live');
  fs.writeFileSync(marker, JSON.stringify({ ready, stalled }));
})();
`;
