import { timingSafeEqual } from 'node:crypto';
import { confidenceOf, type JointSettings } from './joint.ts';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  checkInferRequest,
  inferResponse,
  InferenceRequestError,
  modelMetadata,
  oipDatatype,
  type CheckedRequest,
  type OutputTensor,
} from '../core/oip.ts';
import { jsonValues } from '../core/tensor-types.ts';
import { messageOf } from '../core/errors.ts';
import type { Logger } from '../ports.ts';
import type { DriftMonitor } from './drift.ts';
import { EdgexWindows, isEdgexEvent, type EdgexMapping } from './edgex.ts';
import type { AdaptiveRouter } from './adaptive.ts';
import { post } from './upstream.ts';
import { readInferBody, readJson, sendError, sendInfer, sendJson } from './http.ts';
import { servingMetrics, type ServingMetrics } from './metrics.ts';
import type { LoadedModel, ModelSource } from './model.ts';
import { ModelVersions } from './repository.ts';
import { HealthPort } from './health.ts';
import { Deadlines } from './deadlines.ts';
import { GrpcOip } from './grpc/server.ts';
import { SignatureError } from '../adapters/signing/oms-bundle.ts';

/** The largest infer request (REST body or gRPC message) by default. */
const MAX_BODY_BYTES = 16 * 2 ** 20;

/** The response header a joint site says which model answered in: `edge` or `cloud`. */
export const ANSWERED_BY = 'x-edgeship-answered-by';

export interface ServeOptions {
  /**
   * How long a request may wait for the local model before it is answered 504 (30 s by default),
   * and how long one may have waited before liveness says 503 so the pod restarts (60 s).
   */
  deadlineMs?: number;
  stuckMs?: number;
  /** On close, how long to keep taking connections while readiness says 503 (the time endpoints take to drop the pod). */
  shutdownDelayMs?: number;
  /** How long a client may take to send its headers, and its whole request (10 s and 30 s by default). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How often those are checked (2 s by default). */
  timeoutCheckMs?: number;
  /** The local model: what unversioned requests get. Absent for a pure forwarder. */
  model?: LoadedModel;
  /** Older versions of the same model, kept while offloading sites still ask for them by version. */
  retained?: LoadedModel[];
  /** The name clients use when there is no local model. */
  name?: string;
  /** The version a forwarder was released with: it forwards to that version's route, so it never crosses contracts. */
  version?: string;
  /** Forward infer requests to this cloud endpoint (same protocol); the local model, if any, is the fallback. */
  offload?: { url: string; timeoutMs: number };
  /**
   * A joint site (with `offload` and a local model): the edge model answers each request, and one
   * whose confidence is under the threshold is sent to the cloud's version of the large model;
   * when the cloud cannot answer, the edge answer stands.
   */
  joint?: JointSettings;
  /** An adaptive site: the local model and the offload endpoint, chosen per request by this router. */
  adaptive?: AdaptiveRouter;
  /** The registry to report in (the adaptive router's too); a new one by default. */
  metrics?: ServingMetrics;
  edgex?: EdgexMapping;
  maxBodyBytes?: number;
  /**
   * On close, how long keep-alive clients get to send their next request (answered with
   * `Connection: close`) before their connections are closed: closing an idle keep-alive
   * connection races a request the client is sending. 0 closes idle connections at once.
   */
  drainMs?: number;
  log: Logger;
  /** Drift monitoring of a loaded model. */
  driftFor?: (model: LoadedModel, metrics: ServingMetrics) => DriftMonitor | undefined;
  /** The site judging the release it serves (rollout.analysis): told of every infer request of the served model. */
  analyzer?: { observe(latencyMs: number, failed: boolean): void };
  /**
   * Loads and unloads models through the model repository extension, for callers that send
   * `Authorization: Bearer <token>`: anyone who could swap the model could serve anything.
   */
  load?: { token: string; model: (source: ModelSource) => Promise<LoadedModel> };
}

const VERSION = '1';
/**
 * Connections the kernel may hold before they are accepted (capped by net.core.somaxconn, 4096
 * since Linux 5.4). Node's 511 overflows when a thousand clients connect at once: a connection
 * dropped there (a probe's too) waits a second for the SYN to be sent again.
 */
const BACKLOG = 4096;
const route = (method: string, pattern: RegExp) => (request: IncomingMessage, path: string) =>
  request.method === method ? pattern.exec(path) : null;
const MODEL = '/v2/models/([^/]+)(?:/versions/([^/]+))?';
const routes = {
  live: route('GET', /^\/v2\/health\/live$/),
  ready: route('GET', /^\/v2\/health\/ready$/),
  server: route('GET', /^\/v2\/?$/),
  metrics: route('GET', /^\/metrics$/),
  index: route('POST', /^\/v2\/repository\/index$/),
  repository: route('POST', /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/),
  metadata: route('GET', new RegExp(`^${MODEL}$`)),
  modelReady: route('GET', new RegExp(`^${MODEL}/ready$`)),
  stats: route('GET', new RegExp(`^${MODEL}/stats$`)),
  infer: route('POST', new RegExp(`^${MODEL}/infer$`)),
};

const decode = (part: string | undefined, what: string) => {
  try {
    return decodeURIComponent(part ?? '');
  } catch {
    throw new InferenceRequestError(400, `${what} in the path: invalid %-encoding in "${part}"`);
  }
};

/**
 * The Open Inference Protocol v2 REST server (KServe's v2 protocol): health, server and model
 * metadata, infer with every OIP datatype; the model repository, binary tensor data and
 * statistics extensions; gzip bodies; Prometheus metrics; EdgeX events as an alternative infer
 * body; offloading to the cloud by version. Inference runs on a worker thread, so health checks
 * answer while the model is busy. A request never crashes the server or fails another request:
 * everything is checked first, and every failure is an OIP error body with a status.
 */
export class InferenceServer {
  readonly metrics: ServingMetrics;
  private readonly server: Server;
  private health: HealthPort | undefined;
  private grpc: GrpcOip | undefined;
  private readonly versions = new ModelVersions();
  private drift: DriftMonitor | undefined;
  private edgex: EdgexWindows | undefined;
  private inFlight = 0;
  private closing = false;
  private idle: (() => void) | undefined;
  private servedName: string;
  /** A request never waits for the model without end. */
  private readonly deadlines: Deadlines;

  constructor(private readonly options: ServeOptions) {
    this.metrics = options.metrics ?? servingMetrics();
    this.servedName = options.model?.name ?? options.name ?? 'model';
    this.deadlines = new Deadlines(options.deadlineMs ?? 30_000);
    // Node looks at those timeouts every connectionsCheckingInterval (30 s by its default).
    this.server = createServer(
      { connectionsCheckingInterval: options.timeoutCheckMs ?? 2_000 },
      (request, response) => void this.handle(request, response),
    );
    // As the app's server: a client that trickles its headers or body does not hold a connection
    // for Node's minutes (60 s for headers, 300 s for the request).
    this.server.headersTimeout = options.headersTimeoutMs ?? 10_000;
    this.server.requestTimeout = options.requestTimeoutMs ?? 30_000;
    // Tells close() when a connection ends, so draining does not wait for the timer.
    this.server.on('connection', (socket) => socket.once('close', () => this.server.emit('connectionClosed')));
    for (const model of options.retained ?? []) this.versions.add(model, false);
    if (options.model) this.install(options.model);
  }

  /** How long the oldest request has waited for any loaded model, in ms. */
  private oldestRequestMs(): number {
    return Math.max(0, ...this.versions.all.map((model) => model.worker.oldestMs?.() ?? 0));
  }

  /** Why the server is not live: a request has waited for the model past `stuckMs` (the pool is stuck). */
  private stuck(): string | undefined {
    const oldest = this.oldestRequestMs();
    const limit = this.options.stuckMs ?? 60_000;
    return oldest >= limit
      ? `a request has waited ${Math.round(oldest)} ms for the model (limit ${limit} ms)`
      : undefined;
  }

  /** Whether the server still takes connections. */
  get listening(): boolean {
    return this.server.listening;
  }

  /** Requests being answered now. */
  get pending(): number {
    return this.inFlight;
  }

  /** The model's name: what clients use, also while it is unloaded. */
  get name(): string {
    return this.servedName;
  }

  private get model(): LoadedModel | undefined {
    return this.versions.current;
  }

  /** The largest feature PSI of the served model's last full drift window, when there was one. */
  get driftPsi(): number | undefined {
    return this.drift?.latestPsi;
  }

  /** The version served now: the loaded model's, or the one this server forwards for. */
  get version(): string {
    return this.model?.version ?? this.options.version ?? '0';
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, backlog: BACKLOG }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Also speaks the Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this
   * port: KServe's convention is HTTP on 8080 and gRPC on 8081.
   */
  async listenGrpc(port: number, host = '127.0.0.1'): Promise<number> {
    this.grpc = await GrpcOip.open(this, port, host, {
      maxMessageBytes: this.options.maxBodyBytes ?? MAX_BODY_BYTES,
      log: this.options.log,
    });
    return this.grpc.port;
  }

  /**
   * Also answers liveness, readiness and metrics on a port of their own, served by a thread of
   * its own (HealthPort): Node accepts one connection per turn of the event loop, in order, so
   * while a thousand inference clients connect at once a probe on the shared port waits behind
   * them (1.5-2.4 s measured), and a turn of the main thread can take ~100 ms.
   */
  async listenHealth(port: number, host = '127.0.0.1', stallMs?: number): Promise<number> {
    const sources = {
      ready: () => this.ready,
      stuckMs: () => this.oldestRequestMs(),
      metrics: async () => ({
        contentType: this.metrics.registry.contentType,
        text: await this.metrics.registry.metrics(),
      }),
    };
    this.health = await HealthPort.open(port, host, sources, stallMs, this.options.stuckMs ?? 60_000);
    return this.health.port;
  }

  /**
   * Says it is not ready and, for `shutdownDelayMs`, keeps taking connections (the endpoints
   * still send some while they drop the pod); then stops taking connections and answers what was
   * already read, each answer with `Connection: close`, so keep-alive clients go elsewhere; once
   * they have (or `drainMs` is over) and nothing is in flight, closes every connection, then
   * stops the models.
   */
  async close(): Promise<void> {
    this.closing = true;
    // Not ready from now on, but still listening until the endpoints have let the pod go: a
    // connection accepted by the kernel and not yet by the server is reset when the listener closes.
    const delayMs = this.options.shutdownDelayMs ?? 0;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const drainMs = this.options.drainMs ?? 0;
    // http.Server#close also closes idle keep-alive connections at once (Node ≥ 19), which resets
    // a request a client is sending on one: to drain, stop listening only (net.Server#close).
    const closed = new Promise<void>((resolve) =>
      (drainMs === 0 ? this.server : netClose(this.server)).close(() => resolve()),
    );
    // gRPC takes no new calls either; those in flight finish (within the drain and a run's deadline).
    const grpcClosed = this.grpc?.close(drainMs + (this.options.deadlineMs ?? 30_000));
    if (drainMs === 0) this.server.closeIdleConnections();
    else {
      const gone = new Promise<void>((resolve) => {
        const check = () => this.server.getConnections((_, count) => (count === 0 ? resolve() : undefined));
        this.server.on('connectionClosed', check);
        check();
      });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
    }
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    this.server.closeAllConnections();
    await closed;
    await grpcClosed;
    // Probes answer until the end: a liveness failure while draining would restart the pod.
    await this.health?.close();
    await this.drift?.sending;
    await Promise.all(this.versions.clear('the server stopped').map((model) => stop(model)));
  }

  /** Serves another model from now on; requests already running finish on the old one. */
  async swap(next: LoadedModel): Promise<void> {
    const previous = this.model;
    const replaced = this.install(next);
    // The previous current version stays only if it was retained for offloading sites.
    const retained = new Set((this.options.retained ?? []).map((model) => model.version));
    if (previous && previous !== next && previous.version !== next.version && !retained.has(previous.version)) {
      this.versions.remove(previous.version);
      await stop(previous);
    }
    if (replaced && replaced !== next) await stop(replaced);
  }

  private install(model: LoadedModel): LoadedModel | undefined {
    const replaced = this.versions.add(model, true);
    this.servedName = model.name;
    this.drift = this.options.driftFor?.(model, this.metrics);
    this.edgex = undefined;
    if (this.options.edgex) {
      try {
        this.edgex = new EdgexWindows(this.options.edgex, model.worker.contract);
      } catch (error) {
        // EdgeX input is a convenience: without a mapping that fits, the server still serves OIP.
        this.options.log.warn({ err: messageOf(error) }, 'EdgeX input is off');
      }
    }
    return replaced;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.closing) response.setHeader('connection', 'close');
    await this.track(async () => {
      try {
        await this.dispatch(request, response);
      } catch (error) {
        const status = error instanceof InferenceRequestError ? error.status : 500;
        if (status === 500) this.options.log.error({ err: error, url: request.url }, 'Request failed');
        if (!response.headersSent) sendError(response, status, messageOf(error));
      }
    });
  }

  /** Why the server is not live, or undefined when it is. */
  notLive(): string | undefined {
    return this.stuck();
  }

  get ready(): boolean {
    return !this.closing && (Boolean(this.model) || Boolean(this.options.offload));
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = pathOf(request.url);
    if (routes.live(request, path)) {
      const stuck = this.stuck();
      return stuck ? sendJson(response, 503, { live: false, error: stuck }) : sendJson(response, 200, { live: true });
    }
    if (routes.ready(request, path)) return sendJson(response, this.ready ? 200 : 503, { ready: this.ready });
    if (routes.server(request, path)) return sendJson(response, 200, this.serverMetadata());
    if (routes.metrics(request, path)) {
      const text = await this.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(text);
      return;
    }
    if (routes.index(request, path)) return sendJson(response, 200, this.versions.index(this.name));
    const repository = routes.repository(request, path);
    if (repository)
      return this.repository(
        request,
        response,
        decode(repository[1], 'model name'),
        repository[2] as 'load' | 'unload',
      );
    const match =
      routes.metadata(request, path) ??
      routes.modelReady(request, path) ??
      routes.stats(request, path) ??
      routes.infer(request, path);
    if (!match) throw new InferenceRequestError(404, `no route for ${request.method} ${path}`);
    const name = decode(match[1], 'model name');
    const version = match[2] === undefined ? undefined : decode(match[2], 'model version');
    const model = this.resolve(name, version);
    if (routes.modelReady(request, path))
      return sendJson(response, this.ready ? 200 : 503, { name, ready: this.ready });
    if (routes.stats(request, path)) return sendJson(response, 200, this.versions.statistics(name, version));
    if (routes.metadata(request, path)) return sendJson(response, 200, this.metadataOf(name, model));
    return this.infer(request, response, model, version);
  }

  /** The loaded model a request names (its version, or the current one; none on a site that forwards every request); a 404 when this server does not serve it. */
  resolve(name: string, version: string | undefined): LoadedModel | undefined {
    const model = this.versions.get(version);
    const known = name === this.name && (model !== undefined || (!this.model && Boolean(this.options.offload)));
    if (!known) {
      const serving = this.versions.all.map((entry) => entry.version).join(', ');
      throw new InferenceRequestError(
        404,
        `unknown model "${name}"${version ? ` version ${version}` : ''}; this server serves "${this.name}"${serving ? ` version ${serving}` : ''}`,
      );
    }
    return model;
  }

  /** A model's OIP metadata; a site that forwards every request sends the client to the cloud (503). */
  metadataOf(name: string, model: LoadedModel | undefined) {
    if (!model)
      throw new InferenceRequestError(
        503,
        `"${name}" is forwarded to ${this.options.offload?.url}; ask it for metadata`,
      );
    return modelMetadata({ name, versions: this.versions.all.map((entry) => entry.version) }, model.worker.contract);
  }

  serverMetadata() {
    return { name: 'edgeship', version: VERSION, extensions: ['model_repository', 'binary_tensor_data', 'statistics'] };
  }

  /** Counts a request in flight while it runs, so close() answers it before stopping. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight += 1;
    try {
      return await work();
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  private async infer(
    request: IncomingMessage,
    response: ServerResponse,
    model: LoadedModel | undefined,
    version: string | undefined,
  ): Promise<void> {
    const started = performance.now();
    const body = await readInferBody(request, this.options.maxBodyBytes ?? MAX_BODY_BYTES).catch((error: unknown) => {
      this.metrics.requests.inc({
        model: this.name,
        code: error instanceof InferenceRequestError ? error.status : 500,
      });
      throw error;
    });
    const answer = await this.answer(body, model, version, started);
    if (answer.kind === 'edgex') return sendJson(response, 202, answer.body);
    if (answer.kind === 'forwarded') {
      response.writeHead(answer.status, answer.headers).end(answer.body);
      return;
    }
    const { body: json, binary } = inferResponse(answer.model, answer.checked, answer.outputs);
    if (answer.answeredBy) response.setHeader(ANSWERED_BY, answer.answeredBy);
    return sendInfer(response, json, binary);
  }

  /**
   * One infer request as either transport brought it (REST, or gRPC in OIP form: serve/grpc):
   * checked against the model, routed (adaptive, offload, local), run, measured. `body` is the
   * request as JSON with its binary tensor data, and the bytes to forward as they are.
   */
  async answer(
    body: InferBody,
    model: LoadedModel | undefined,
    version: string | undefined,
    started = performance.now(),
  ): Promise<InferAnswer> {
    const name = this.name;
    const current = model === this.model;
    try {
      const { json, binary } = body;
      let checked: CheckedRequest | undefined;
      // Forwarded as it came (decompressed): the bytes the client sent, not JSON written again
      // (gRPC's are written when read, so only for a request that is forwarded).
      let forward: Forwarded = body;
      if (isEdgexEvent(json)) {
        if (!this.edgex)
          throw new InferenceRequestError(
            400,
            'request body: an EdgeX event, but this server has no EdgeX mapping that fits the model (--edgex-features)',
          );
        const accepted = this.edgex.accept(json);
        if (!accepted.inputs) {
          this.metrics.requests.inc({ model: name, code: 202 });
          return {
            kind: 'edgex',
            body: { device: accepted.device, buffered: accepted.buffered, needed: this.edgex.steps },
          };
        }
        checked = { inputs: accepted.inputs, batch: 1 };
        forward = { bytes: Buffer.from(JSON.stringify(toOip(checked))) };
      } else if (model) {
        checked = checkInferRequest(json, model.worker.contract, binary);
      }
      if (checked && current) this.drift?.observe(checked.inputs);
      const target = version ?? this.model?.version ?? this.options.version;
      // An adaptive site decides per request; a shadow on the other path keeps that path measured.
      const router = this.options.adaptive && current && model && checked ? this.options.adaptive : undefined;
      const routed = router?.route();
      if (router && routed?.probe && model && checked)
        this.shadow(router, routed.path === 'local' ? 'cloud' : 'local', name, target, forward, model, checked);
      let forwarded: Awaited<ReturnType<InferenceServer['forward']>>;
      if (router && routed?.path === 'cloud')
        forwarded = await router.timeCloud(
          () => this.forward(name, target, forward, true),
          (answer) => answer !== undefined,
        );
      else if (this.options.offload && current && !router && !(this.options.joint && model))
        forwarded = await this.forward(name, target, forward, Boolean(model));
      if (forwarded) {
        if (current) this.options.analyzer?.observe(performance.now() - started, forwarded.status >= 500);
        this.metrics.routes.inc({ model: name, route: 'forwarded' });
        this.metrics.latency.observe({ model: name, route: 'forwarded' }, (performance.now() - started) / 1000);
        this.metrics.requests.inc({ model: name, code: forwarded.status });
        return { kind: 'forwarded', ...forwarded };
      }
      if (!model || !checked) throw new InferenceRequestError(503, `"${name}" has no local model`);
      const run = () => this.deadlines.race(model.worker.run(checked.inputs, checked.outputs));
      const outputs = await (router ? router.timeLocal(run) : run()).catch((error: unknown) => {
        this.versions.record(model.version, 'fail', checked.batch, elapsedNs(started));
        throw valuesRefused(error, model.worker.contract.inputs) ?? error;
      });
      this.versions.record(model.version, 'success', checked.batch, elapsedNs(started));
      this.metrics.routes.inc({
        model: name,
        route: this.options.offload && routed?.path !== 'local' ? 'fallback' : 'local',
      });
      this.metrics.batch.observe({ model: name }, checked.batch);
      this.metrics.latency.observe({ model: name, route: 'local' }, (performance.now() - started) / 1000);
      if (this.options.joint && current && this.options.offload) {
        const joint = await this.joint(this.options.joint, name, target, forward, checked.batch, outputs);
        if (joint) {
          this.metrics.requests.inc({ model: name, code: joint.status });
          if (current) this.options.analyzer?.observe(performance.now() - started, joint.status >= 500);
          return { kind: 'forwarded', ...joint };
        }
      }
      this.metrics.requests.inc({ model: name, code: 200 });
      if (current) this.options.analyzer?.observe(performance.now() - started, false);
      return { kind: 'local', model, checked, outputs, ...(this.options.joint && { answeredBy: 'edge' as const }) };
    } catch (error) {
      const status = error instanceof InferenceRequestError ? error.status : 500;
      this.metrics.requests.inc({ model: name, code: status });
      // The client's mistakes (4xx) say nothing of the release; the server's failures do.
      if (current && status >= 500) this.options.analyzer?.observe(performance.now() - started, true);
      throw error;
    }
  }

  /**
   * Forwards to the cloud, to the route of the version this site was released with, the body as
   * it came (binary data too). Undefined means "run it here": the cloud failed (unreachable, a 5xx,
   * or a 404 for the version) and there is a local model to fall back to. Without one, the failure
   * is the answer (502, or 504 on timeout).
   */
  private async forward(
    name: string,
    version: string | undefined,
    request: Forwarded,
    canFallBack: boolean,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer } | undefined> {
    const { url, timeoutMs } = this.options.offload as NonNullable<ServeOptions['offload']>;
    const target = `${url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(name)}${version ? `/versions/${encodeURIComponent(version)}` : ''}/infer`;
    const failed = (status: number, error: string) => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ error })),
    });
    try {
      const { headerLength } = request;
      const headers: Record<string, string> =
        headerLength === undefined
          ? { 'content-type': 'application/json' }
          : { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) };
      const upstream = await post(target, headers, request.bytes, timeoutMs);
      // A 404 says the cloud lacks this site's version (or model): it cannot answer, as a 5xx cannot.
      if (upstream.status < 500 && upstream.status !== 404) {
        const passed = ['content-type', 'inference-header-content-length'].flatMap((key) => {
          const value = upstream.headers[key];
          return typeof value === 'string' ? [[key, value] as const] : [];
        });
        return { status: upstream.status, headers: Object.fromEntries(passed), body: upstream.body };
      }
      if (!canFallBack) return failed(502, `cloud endpoint ${url} answered ${upstream.status}`);
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      this.options.log.warn({ url, err: error }, 'Offload failed');
      if (!canFallBack)
        return failed(
          timedOut ? 504 : 502,
          `cloud endpoint ${url} ${timedOut ? `did not answer within ${timeoutMs} ms` : `is unreachable: ${messageOf(error)}`}`,
        );
    }
    return undefined;
  }

  /**
   * A joint site's second step, after the edge model answered: a confident answer stands; one
   * under the threshold goes to the cloud's version, whose answer is returned (marked), unless
   * the cloud cannot answer, when the edge answer stands. Counted by who answered and why.
   */
  private async joint(
    settings: JointSettings,
    name: string,
    version: string | undefined,
    request: Forwarded,
    rows: number,
    outputs: readonly OutputTensor[],
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer } | undefined> {
    const confidence = confidenceOf(outputs, rows, settings);
    if (confidence !== undefined && confidence >= settings.threshold) {
      this.metrics.joint.inc({ model: name, answered: 'edge', reason: 'confident' });
      return undefined;
    }
    const forwarded = await this.forward(name, version, request, true);
    // Only an answer stands in for the edge's: a refusal from the cloud (4xx) is no better.
    if (!forwarded || forwarded.status >= 300) {
      this.metrics.joint.inc({ model: name, answered: 'edge', reason: 'cloud-failed' });
      return undefined;
    }
    this.metrics.joint.inc({ model: name, answered: 'cloud', reason: 'low-confidence' });
    return { ...forwarded, headers: { ...forwarded.headers, [ANSWERED_BY]: 'cloud' } };
  }

  /** Sends a copy of a request to the path not in use and records how long it took; the answer is dropped. */
  private shadow(
    router: AdaptiveRouter,
    path: 'local' | 'cloud',
    name: string,
    version: string | undefined,
    request: Forwarded,
    model: LoadedModel,
    checked: CheckedRequest,
  ): void {
    const done =
      path === 'local'
        ? router.timeLocal(() => model.worker.run(checked.inputs, checked.outputs), true)
        : router.timeCloud(
            () => this.forward(name, version, request, true),
            (answer) => answer !== undefined,
            true,
          );
    done.catch((error: unknown) => this.options.log.debug({ err: messageOf(error), path }, 'Adaptive probe failed'));
  }

  /** The model repository extension's load and unload, for the admin token only. */
  private async repository(
    request: IncomingMessage,
    response: ServerResponse,
    name: string,
    action: 'load' | 'unload',
  ): Promise<void> {
    const load = this.options.load;
    if (!load)
      throw new InferenceRequestError(
        404,
        'this server does not load or unload models on request (set EDGESHIP_ADMIN_TOKEN to allow it)',
      );
    const given = Buffer.from(request.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${load.token}`);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new InferenceRequestError(
        401,
        `${action === 'load' ? 'loading' : 'unloading'} a model needs Authorization: Bearer <EDGESHIP_ADMIN_TOKEN>`,
      );
    if (action === 'unload') {
      if (name !== this.name)
        throw new InferenceRequestError(404, `unknown model "${name}"; this server serves "${this.name}"`);
      await Promise.all(this.versions.clear(`unloaded on request`).map((model) => stop(model)));
      this.drift = undefined;
      return sendJson(response, 200, { name, state: 'UNAVAILABLE' });
    }
    const body = (await readJson(request, 64 * 1024)) as { parameters?: { reference?: unknown } } | undefined;
    const reference = body?.parameters?.reference;
    if (typeof reference !== 'string')
      throw new InferenceRequestError(
        400,
        'request body: expected {"parameters": {"reference": "<OCI reference or file>"}}',
      );
    const next = await load.model({ model: reference, name }).catch((error: unknown) => {
      // The server stays on the model it has; the refusal is counted and said.
      if (!(error instanceof SignatureError)) throw error;
      this.metrics.signatureRefusals.inc({ model: name });
      this.options.log.warn({ reference, err: error.message }, 'Refused a model: its signature does not hold');
      throw new InferenceRequestError(403, error.message);
    });
    await this.swap(next);
    return sendJson(response, 200, {
      name: next.name,
      version: next.version,
      ...(next.digest && { digest: next.digest }),
    });
  }
}

/** An infer request body to forward: JSON, or with `headerLength` a JSON header and binary tensor data. */
interface Forwarded {
  bytes: Buffer;
  headerLength?: number;
}

/** An infer request: its JSON (the header, with binary tensor data after it) and its bytes as they came. */
export interface InferBody extends Forwarded {
  json: unknown;
  binary?: Buffer;
}

/** What answered an infer request: an EdgeX event buffered (202), the cloud's answer, or the local model's outputs. */
export type InferAnswer =
  | { kind: 'edgex'; body: { device: string; buffered: number; needed: number } }
  | { kind: 'forwarded'; status: number; headers: Record<string, string>; body: Buffer }
  | { kind: 'local'; model: LoadedModel; checked: CheckedRequest; outputs: OutputTensor[]; answeredBy?: 'edge' };

/** The path of a request target (origin form, or absolute form as a proxy may send it), without the query. */
function pathOf(target = '/'): string {
  const path = target.startsWith('/') ? target : new URL(target, 'http://localhost').pathname;
  const query = path.search(/[?#]/);
  return query === -1 ? path : path.slice(0, query);
}

/** The server with net.Server's close, which stops listening and leaves open connections alone. */
const netClose = (server: Server) => ({
  close: (done: () => void) => NetServer.prototype.close.call(server, () => done()),
});

const elapsedNs = (started: number) => Math.round((performance.now() - started) * 1e6);

async function stop(model: LoadedModel): Promise<void> {
  await model.worker.close();
  await model.cleanup();
}

/** A checked request back in OIP form, for forwarding. */
function toOip(request: CheckedRequest) {
  return {
    ...(request.id !== undefined && { id: request.id }),
    inputs: request.inputs.map((input) => ({
      name: input.name,
      shape: input.dims,
      datatype: oipDatatype(input.dtype),
      data: jsonValues(input.dtype, input.data),
    })),
    ...(request.outputs && { outputs: request.outputs.map((output) => ({ name: output })) }),
  };
}

/**
 * A request the model could not run because of its values, which the checks against the contract
 * cannot see (an index outside an embedding's range): the client's error, a 400 naming the
 * integer inputs that hold indices. Anything else stays a server error.
 */
function valuesRefused(
  error: unknown,
  inputs: readonly { name: string; dtype: string }[],
): InferenceRequestError | undefined {
  const message = messageOf(error);
  if (!/out of (data )?bounds|out of range|must be within/i.test(message)) return undefined;
  const status = /Status Message: (.*)$/s.exec(message)?.[1]?.trim() ?? message;
  const indices = inputs.filter((input) => /int/.test(input.dtype)).map((input) => `"${input.name}"`);
  return new InferenceRequestError(
    400,
    `the model cannot run on these values${indices.length > 0 ? ` (an index in input ${indices.join(' or ')} is outside its range?)` : ''}: ${status}`,
  );
}
