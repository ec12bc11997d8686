import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Version {
  name: string;
  version: string;
  source: string;
  tags: { key: string; value: string }[];
  creation_timestamp: number;
  current_stage: string;
  status: string;
}

/**
 * A loopback MLflow tracking server with the Model Registry REST API 2.0 shapes edgeship uses:
 * registered-models/create, model-versions/create and /search, registered-models/alias. Requests
 * are checked as MLflow's handlers check them (server/handlers.py): required string fields; a
 * version's source must be a URI with a scheme (a local path needs a run whose artifacts hold
 * it, which edgeship never has), without `..` segments; search pages by `max_results` (at most
 * 200,000) and `page_token`, answering `next_page_token`. Errors come back as MLflow sends them
 * ({error_code, message}); `failNext` makes the next calls 503.
 */
export async function startMlflow() {
  const models = new Map<string, { versions: Version[]; aliases: Map<string, string> }>();
  const calls: string[] = [];
  const state = { failNext: 0 };
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://mlflow');
      const path = url.pathname.replace(/^\/api\/2\.0\/mlflow\//, '');
      calls.push(`${request.method} ${path}`);
      const body = (text ? JSON.parse(text) : {}) as {
        name?: unknown;
        source?: unknown;
        version?: string;
        alias?: string;
        run_id?: unknown;
        tags?: Version['tags'];
      };
      const reply = (status: number, payload: object) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      const error = (status: number, code: string, message: string) => reply(status, { error_code: code, message });
      if (state.failNext > 0) {
        state.failNext -= 1;
        return error(503, 'TEMPORARILY_UNAVAILABLE', 'try again');
      }
      const name = typeof body.name === 'string' ? body.name : '';
      const invalid = (message: string) => error(400, 'INVALID_PARAMETER_VALUE', message);
      if (request.method === 'POST' && typeof body.name !== 'string')
        return invalid(`Missing value for required parameter 'name'.`);
      if (request.method === 'POST' && path === 'registered-models/create') {
        if (models.has(name))
          return error(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        models.set(name, { versions: [], aliases: new Map() });
        return reply(200, { registered_model: { name, creation_timestamp: Date.now() } });
      }
      if (request.method === 'POST' && path === 'model-versions/create') {
        if (typeof body.source !== 'string') return invalid(`Missing value for required parameter 'source'.`);
        const source = body.source;
        // is_local_uri: no scheme (or file:) is a path on the server, allowed only inside a run's artifacts.
        if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(source) || /^file:/i.test(source)) {
          return invalid(
            `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
          );
        }
        if (source.split('/').includes('..') || source.includes('\0'))
          return invalid(
            `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
          );
        const model = models.get(name);
        if (!model) return error(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
        const version: Version = {
          name,
          version: String(model.versions.length + 1),
          source,
          tags: body.tags ?? [],
          creation_timestamp: Date.now(),
          current_stage: 'None',
          status: 'READY',
        };
        model.versions.push(version);
        return reply(200, { model_version: version });
      }
      if (request.method === 'GET' && path === 'model-versions/search') {
        const wanted = /^name='(.*)'$/.exec(url.searchParams.get('filter') ?? '')?.[1];
        const size = Number(url.searchParams.get('max_results') ?? 10_000);
        if (!Number.isInteger(size) || size < 1 || size > 200_000)
          return invalid(`Invalid value ${url.searchParams.get('max_results')} for parameter 'max_results' supplied.`);
        const start = Number(url.searchParams.get('page_token') ?? 0);
        const all = wanted
          ? (models.get(wanted)?.versions ?? [])
          : [...models.values()].flatMap((model) => model.versions);
        const page = all.slice(start, start + size);
        return reply(200, {
          model_versions: page,
          ...(start + size < all.length && { next_page_token: String(start + size) }),
        });
      }
      if (request.method === 'POST' && path === 'registered-models/alias') {
        const model = models.get(name);
        if (!model?.versions.some((version) => version.version === body.version))
          return error(404, 'RESOURCE_DOES_NOT_EXIST', `Model version ${body.version ?? ''} of ${name} not found`);
        model.aliases.set(body.alias ?? '', body.version ?? '');
        return reply(200, {});
      }
      return error(404, 'ENDPOINT_NOT_FOUND', `no ${request.method} ${path}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    models,
    calls,
    state,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
