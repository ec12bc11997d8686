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
 * registered-models/create, model-versions/create and /search, registered-models/alias. Errors
 * come back as MLflow sends them ({error_code, message}); `failNext` makes the next calls 503.
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
      const body = (text ? JSON.parse(text) : {}) as { name?: string; source?: string; version?: string; alias?: string; tags?: Version['tags'] };
      const reply = (status: number, payload: object) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      const error = (status: number, code: string, message: string) => reply(status, { error_code: code, message });
      if (state.failNext > 0) {
        state.failNext -= 1;
        return error(503, 'TEMPORARILY_UNAVAILABLE', 'try again');
      }
      const name = body.name ?? '';
      if (request.method === 'POST' && path === 'registered-models/create') {
        if (models.has(name)) return error(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        models.set(name, { versions: [], aliases: new Map() });
        return reply(200, { registered_model: { name, creation_timestamp: Date.now() } });
      }
      if (request.method === 'POST' && path === 'model-versions/create') {
        const model = models.get(name);
        if (!model) return error(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${name} not found`);
        const version: Version = { name, version: String(model.versions.length + 1), source: body.source ?? '', tags: body.tags ?? [], creation_timestamp: Date.now(), current_stage: 'None', status: 'READY' };
        model.versions.push(version);
        return reply(200, { model_version: version });
      }
      if (request.method === 'GET' && path === 'model-versions/search') {
        const wanted = /^name='(.*)'$/.exec(url.searchParams.get('filter') ?? '')?.[1];
        return reply(200, { model_versions: wanted ? (models.get(wanted)?.versions ?? []) : [...models.values()].flatMap((model) => model.versions) });
      }
      if (request.method === 'POST' && path === 'registered-models/alias') {
        const model = models.get(name);
        if (!model?.versions.some((version) => version.version === body.version)) return error(404, 'RESOURCE_DOES_NOT_EXIST', `Model version ${body.version ?? ''} of ${name} not found`);
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
