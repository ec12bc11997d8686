import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { BEAT_MS, SLOT, type HealthReply, type HealthRequest, type HealthStarted } from './health.ts';

/** The health port's thread (see HealthPort): GET /v2/health/live, /v2/health/ready, /metrics. */
const port = parentPort;
if (!port) throw new Error('health-thread runs as a worker thread');
const settings = workerData as { port: number; host: string; state: Int32Array; stallMs: number; stuckMs: number };
const { state, stallMs, stuckMs } = settings;

// When the main thread's beat last moved, by this thread's clock.
let beat = Atomics.load(state, SLOT.beat);
let moved = performance.now();
setInterval(() => {
  const now = Atomics.load(state, SLOT.beat);
  if (now !== beat) [beat, moved] = [now, performance.now()];
}, BEAT_MS);

const metrics = new Map<number, (reply: HealthReply) => void>();
let nextId = 1;
port.on('message', (reply: HealthReply) => {
  metrics.get(reply.id)?.(reply);
  metrics.delete(reply.id);
});

const send = (response: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    .end(text);
};

const server = createServer((request, response) => {
  const path = (request.url ?? '/').split(/[?#]/)[0];
  if (request.method !== 'GET')
    return send(response, 405, { error: `${request.method} ${path}: the health port answers GET only` });
  if (path === '/v2/health/live') {
    const still = performance.now() - moved;
    if (still >= stallMs)
      return send(response, 503, { live: false, error: `the main thread has not run for ${Math.round(still)} ms` });
    const waited = Atomics.load(state, SLOT.stuck);
    if (waited >= stuckMs)
      return send(response, 503, {
        live: false,
        error: `a request has waited ${waited} ms for the model (limit ${stuckMs} ms)`,
      });
    return send(response, 200, { live: true });
  }
  if (path === '/v2/health/ready') {
    const ready = Atomics.load(state, SLOT.ready) === 1;
    return send(response, ready ? 200 : 503, { ready });
  }
  if (path === '/metrics') {
    const id = nextId++;
    metrics.set(id, (reply) => response.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.text));
    port.postMessage({ kind: 'metrics', id } satisfies HealthRequest);
    return;
  }
  send(response, 404, {
    error: `no route for GET ${path} on the health port (GET /v2/health/live, /v2/health/ready, /metrics)`,
  });
});
server.on('error', (error) => port.postMessage({ kind: 'failed', message: error.message } satisfies HealthStarted));
server.listen({ port: settings.port, host: settings.host, backlog: 511 }, () => {
  port.postMessage({ kind: 'listening', port: (server.address() as AddressInfo).port } satisfies HealthStarted);
});
