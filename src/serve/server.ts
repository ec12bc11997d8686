import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkInferRequest, inferResponse, InferenceRequestError, modelMetadata, oipDatatype, type CheckedRequest } from '../core/oip.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../ports.ts';
import type { DriftMonitor } from './drift.ts';
import { EdgexWindows, isEdgexEvent, type EdgexMapping } from './edgex.ts';
import { readJson, sendError, sendJson } from './http.ts';
import { servingMetrics, type ServingMetrics } from './metrics.ts';
import type { LoadedModel, ModelSource } from './model.ts';

export interface ServeOptions {
  /** The local model; absent for a pure forwarder. */
  model?: LoadedModel;
  /** The name clients use when there is no local model. */
  name?: string;
  /** Forward infer requests to this cloud endpoint (same protocol); the local model, if any, is the fallback. */
  offload?: { url: string; timeoutMs: number };
  edgex?: EdgexMapping;
  maxBodyBytes?: number;
  log: Logger;
  /** Drift monitoring of a loaded model. */
  driftFor?: (model: LoadedModel, metrics: ServingMetrics) => DriftMonitor | undefined;
  /**
   * Loads another model for `POST /v2/repository/models/<name>/load`, for callers that send
   * `Authorization: Bearer <token>`: anyone who could swap the model could serve anything.
   */
  load?: { token: string; model: (source: ModelSource) => Promise<LoadedModel> };
}

const VERSION = '1';
const route = (method: string, pattern: RegExp) => (request: IncomingMessage, path: string) => (request.method === method ? pattern.exec(path) : null);
const MODEL = '/v2/models/([^/]+)(?:/versions/([^/]+))?';
const routes = {
  live: route('GET', /^\/v2\/health\/live$/),
  ready: route('GET', /^\/v2\/health\/ready$/),
  server: route('GET', /^\/v2\/?$/),
  metrics: route('GET', /^\/metrics$/),
  metadata: route('GET', new RegExp(`^${MODEL}$`)),
  modelReady: route('GET', new RegExp(`^${MODEL}/ready$`)),
  infer: route('POST', new RegExp(`^${MODEL}/infer$`)),
  load: route('POST', /^\/v2\/repository\/models\/([^/]+)\/load$/),
};

/**
 * The Open Inference Protocol v2 REST server (KServe's v2 protocol): health, server and model
 * metadata, infer; Prometheus metrics; EdgeX events as an alternative infer body; offloading to
 * the cloud; a model swap that lets requests in flight finish on the old model. Inference runs
 * on a worker thread, so health checks answer while the model is busy. A request never crashes
 * the server: every failure is an OIP error body with a status.
 */
export class InferenceServer {
  readonly metrics = servingMetrics();
  private readonly server: Server;
  private model: LoadedModel | undefined;
  private drift: DriftMonitor | undefined;
  private edgex: EdgexWindows | undefined;
  private inFlight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly options: ServeOptions) {
    this.server = createServer((request, response) => void this.handle(request, response));
    if (options.model) this.install(options.model);
  }

  /** Requests being answered now. */
  get pending(): number {
    return this.inFlight;
  }

  get name(): string {
    return this.model?.name ?? this.options.name ?? 'model';
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops taking connections, lets requests in flight finish, then stops the model. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await closed;
    await this.drift?.sending;
    if (this.model) {
      await this.model.worker.close();
      await this.model.cleanup();
    }
  }

  /** Serves another model from now on; requests already running finish on the old one. */
  async swap(next: LoadedModel): Promise<void> {
    const previous = this.model;
    this.install(next);
    if (previous) {
      await previous.worker.close();
      await previous.cleanup();
    }
  }

  private install(model: LoadedModel): void {
    this.model = model;
    this.drift = this.options.driftFor?.(model, this.metrics);
    const spec = this.options.edgex && model.worker.contract.inputs.find((input) => input.name === this.options.edgex?.input);
    if (this.options.edgex && !spec) throw new InferenceRequestError(400, `EdgeX mapping: the model has no input "${this.options.edgex.input}"`);
    this.edgex = this.options.edgex && spec ? new EdgexWindows(this.options.edgex, spec) : undefined;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.inFlight += 1;
    try {
      await this.dispatch(request, response);
    } catch (error) {
      const status = error instanceof InferenceRequestError ? error.status : 500;
      if (status === 500) this.options.log.error({ err: error, url: request.url }, 'Request failed');
      if (!response.headersSent) sendError(response, status, messageOf(error));
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const ready = Boolean(this.model) || Boolean(this.options.offload);
    if (routes.live(request, path)) return sendJson(response, 200, { live: true });
    if (routes.ready(request, path)) return sendJson(response, ready ? 200 : 503, { ready });
    if (routes.server(request, path)) return sendJson(response, 200, { name: 'edgeship', version: VERSION, extensions: ['model_repository'] });
    if (routes.metrics(request, path)) {
      const text = await this.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text);
      return;
    }
    const load = routes.load(request, path);
    if (load) return this.reload(request, response, decodeURIComponent(load[1] ?? ''));
    const match = routes.metadata(request, path) ?? routes.modelReady(request, path) ?? routes.infer(request, path);
    if (!match) throw new InferenceRequestError(404, `no route for ${request.method} ${path}`);
    const [name, version] = [decodeURIComponent(match[1] ?? ''), match[2] && decodeURIComponent(match[2])];
    if (name !== this.name || (version && this.model && version !== this.model.version)) {
      throw new InferenceRequestError(404, `unknown model "${name}"${version ? ` version ${version}` : ''}; this server serves "${this.name}"${this.model ? ` version ${this.model.version}` : ''}`);
    }
    if (routes.modelReady(request, path)) return sendJson(response, ready ? 200 : 503, { name, ready });
    if (routes.metadata(request, path)) {
      if (!this.model) throw new InferenceRequestError(503, `"${name}" is forwarded to ${this.options.offload?.url}; ask it for metadata`);
      return sendJson(response, 200, modelMetadata(this.model, { ...this.model.worker.contract, opset: 0 }));
    }
    return this.infer(request, response);
  }

  private async infer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const model = this.model;
    const name = this.name;
    try {
      const body = await readJson(request, this.options.maxBodyBytes ?? 16 * 2 ** 20);
      let checked: CheckedRequest | undefined;
      if (isEdgexEvent(body)) {
        if (!this.edgex) throw new InferenceRequestError(400, 'request body: an EdgeX event, but this server has no EdgeX mapping (--edgex-features)');
        const accepted = this.edgex.accept(body);
        if (!accepted.input) {
          this.metrics.requests.inc({ model: name, code: 202 });
          return sendJson(response, 202, { device: accepted.device, buffered: accepted.buffered, needed: this.edgex.steps });
        }
        checked = { inputs: [accepted.input], batch: 1 };
      } else if (model) {
        checked = checkInferRequest(body, { ...model.worker.contract, opset: 0 });
      }
      if (checked) this.drift?.observe(checked.inputs);
      const forwarded = this.options.offload ? await this.forward(name, checked ? toOip(checked) : body, Boolean(model)) : undefined;
      if (forwarded) {
        this.metrics.routes.inc({ model: name, route: 'forwarded' });
        this.metrics.latency.observe({ model: name, route: 'forwarded' }, (performance.now() - started) / 1000);
        this.metrics.requests.inc({ model: name, code: forwarded.status });
        return sendJson(response, forwarded.status, forwarded.body);
      }
      if (!model || !checked) throw new InferenceRequestError(503, `"${name}" has no local model`);
      const outputs = await model.worker.run(checked.inputs, checked.outputs);
      this.metrics.routes.inc({ model: name, route: this.options.offload ? 'fallback' : 'local' });
      this.metrics.batch.observe({ model: name }, checked.batch);
      this.metrics.latency.observe({ model: name, route: 'local' }, (performance.now() - started) / 1000);
      this.metrics.requests.inc({ model: name, code: 200 });
      return sendJson(response, 200, inferResponse(model, checked, outputs));
    } catch (error) {
      this.metrics.requests.inc({ model: name, code: error instanceof InferenceRequestError ? error.status : 500 });
      throw error;
    }
  }

  /**
   * Forwards to the cloud. Undefined means "run it here": the cloud failed and there is a local
   * model to fall back to. Without one, the failure is the answer (502, or 504 on timeout).
   */
  private async forward(name: string, body: unknown, canFallBack: boolean): Promise<{ status: number; body: unknown } | undefined> {
    const { url, timeoutMs } = this.options.offload as NonNullable<ServeOptions['offload']>;
    const target = `${url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(name)}/infer`;
    try {
      const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
      if (upstream.status < 500) return { status: upstream.status, body: await upstream.json() };
      if (!canFallBack) return { status: 502, body: { error: `cloud endpoint ${url} answered ${upstream.status}` } };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      this.options.log.warn({ url, err: error }, 'Offload failed');
      if (!canFallBack) return { status: timedOut ? 504 : 502, body: { error: `cloud endpoint ${url} ${timedOut ? `did not answer within ${timeoutMs} ms` : `is unreachable: ${messageOf(error)}`}` } };
    }
    return undefined;
  }

  private async reload(request: IncomingMessage, response: ServerResponse, name: string): Promise<void> {
    const load = this.options.load;
    if (!load) throw new InferenceRequestError(404, 'this server does not load models on request (set EDGESHIP_ADMIN_TOKEN to allow it)');
    const given = Buffer.from(request.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${load.token}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new InferenceRequestError(401, 'loading a model needs Authorization: Bearer <EDGESHIP_ADMIN_TOKEN>');
    const body = (await readJson(request, 64 * 1024)) as { parameters?: { reference?: unknown } } | undefined;
    const reference = body?.parameters?.reference;
    if (typeof reference !== 'string') throw new InferenceRequestError(400, 'request body: expected {"parameters": {"reference": "<OCI reference or file>"}}');
    const next = await load.model({ model: reference, name });
    await this.swap(next);
    return sendJson(response, 200, { name: next.name, version: next.version, ...(next.digest && { digest: next.digest }) });
  }
}

/** A checked request back in OIP form, for forwarding. */
function toOip(request: CheckedRequest) {
  return {
    ...(request.id !== undefined && { id: request.id }),
    inputs: request.inputs.map((input) => ({ name: input.name, shape: input.dims, datatype: oipDatatype(input.dtype), data: Array.from(input.data) })),
    ...(request.outputs && { outputs: request.outputs.map((output) => ({ name: output })) }),
  };
}
