import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface KfpRun {
  run_id: string;
  display_name: string;
  description?: string;
  experiment_id: string;
  pipeline_version_reference: { pipeline_id: string; pipeline_version_id: string };
  runtime_config: { parameters: Record<string, unknown> };
  service_account?: string;
  storage_state: 'AVAILABLE' | 'ARCHIVED';
  state: string;
  created_at: string;
  finished_at?: string;
  error?: { code: number; message: string };
  state_history: { update_time: string; state: string }[];
  run_details: { task_details: { display_name: string; state: string; error?: { code: number; message: string } }[] };
}

/** The fields of a v2beta1 Run (backend/api/v2beta1/swagger/run.swagger.json); KFP ≥ 2.14 refuses any other. */
const RUN_FIELDS = new Set([
  'experiment_id',
  'run_id',
  'display_name',
  'storage_state',
  'description',
  'pipeline_version_id',
  'pipeline_spec',
  'pipeline_version_reference',
  'runtime_config',
  'service_account',
  'created_at',
  'scheduled_at',
  'finished_at',
  'state',
  'error',
  'run_details',
  'recurring_run_id',
  'state_history',
]);

/** The parameters an edgeship training pipeline declares: what the app passes to every run. */
export const PIPELINE_INPUTS = [
  'sha',
  'run_key',
  'repo_url',
  'branch',
  'reason',
  'context',
  'callback_url',
  'callback_token',
];

interface Predicate {
  key: string;
  operation: string;
  string_value?: string;
}

/**
 * A loopback Kubeflow Pipelines API (v2beta1 runs and experiments, as the KFP API server answers
 * them): create, get, list with a display_name filter, terminate and delete, behind a bearer
 * token. A run is refused with a field a v2beta1 Run does not have, or a parameter the pipeline
 * does not declare (`inputs`); in multi-user mode (`multiUser`) a run needs an experiment, whose
 * namespace it runs in. A failed run carries its reason in its task details, not in `error`
 * (which the server fills only when it cannot read a stored run); lists leave details out.
 * Tests move runs along with setState(). Errors have grpc-gateway's shape.
 */
export async function startKfp(options: {
  token: string;
  pipelines: Record<string, string[]>;
  inputs?: string[];
  multiUser?: boolean;
}) {
  const runs = new Map<string, KfpRun>();
  const experiments = new Map<string, { experiment_id: string; display_name: string; namespace: string }>();
  const requests: { method: string; path: string; authorization?: string; body?: Record<string, unknown> }[] = [];
  const fail = (response: ServerResponse, http: number, code: number, message: string) =>
    response
      .writeHead(http, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: message, code, message, details: [] }));
  const ok = (response: ServerResponse, body: unknown) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const setState = (run: KfpRun, state: string, error?: string) => {
    run.state = state;
    run.state_history.push({ update_time: new Date().toISOString(), state });
    if (['SUCCEEDED', 'FAILED', 'CANCELED'].includes(state)) run.finished_at = new Date().toISOString();
    if (error) run.run_details.task_details.push({ display_name: 'train', state, error: { code: 2, message: error } });
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://kfp');
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
      requests.push({
        method: request.method ?? 'GET',
        path: `${url.pathname}${url.search}`,
        ...(request.headers.authorization && { authorization: request.headers.authorization }),
        ...(body && { body }),
      });
      if (request.headers.authorization !== `Bearer ${options.token}`)
        return fail(response, 401, 16, 'Unauthenticated: Request header error: there is no user identity header.');
      if (url.pathname === '/apis/v2beta1/experiments') {
        if (request.method === 'POST' && body) {
          const experiment = {
            experiment_id: randomUUID(),
            display_name: typeof body.display_name === 'string' ? body.display_name : '',
            namespace: typeof body.namespace === 'string' ? body.namespace : '',
          };
          experiments.set(experiment.experiment_id, experiment);
          return ok(response, experiment);
        }
        const namespace = url.searchParams.get('namespace') ?? '';
        const filter = url.searchParams.get('filter');
        const wanted = filter
          ? (JSON.parse(filter) as { predicates: Predicate[] }).predicates.find((p) => p.key === 'display_name')
              ?.string_value
          : undefined;
        const found = [...experiments.values()].filter(
          (experiment) =>
            experiment.namespace === namespace && (wanted === undefined || experiment.display_name === wanted),
        );
        return ok(response, found.length > 0 ? { experiments: found, total_size: found.length } : {});
      }
      const match = /^\/apis\/v2beta1\/runs(?:\/([^/:]+))?(?::(terminate))?$/.exec(url.pathname);
      if (!match) return fail(response, 404, 5, `Not Found: ${url.pathname}`);
      const [, id, verb] = match;
      if (!id && request.method === 'POST' && body) {
        const reference = body.pipeline_version_reference as
          { pipeline_id?: string; pipeline_version_id?: string } | undefined;
        const versions = options.pipelines[reference?.pipeline_id ?? ''];
        if (!versions)
          return fail(
            response,
            404,
            5,
            `Failed to create a run due to error fetching pipeline version: ResourceNotFoundError: Pipeline ${reference?.pipeline_id ?? ''} not found`,
          );
        const version = reference?.pipeline_version_id ?? versions.at(-1) ?? '';
        if (!versions.includes(version))
          return fail(
            response,
            404,
            5,
            `Failed to create a run: ResourceNotFoundError: PipelineVersion ${version} not found`,
          );
        const unknown = Object.keys(body).filter((key) => !RUN_FIELDS.has(key));
        if (unknown.length > 0) return fail(response, 400, 3, `proto: (line 1:2): unknown field "${unknown[0] ?? ''}"`);
        if (typeof body.display_name !== 'string' || !body.display_name)
          return fail(response, 400, 3, 'Failed to create a run: InvalidInputError: The run name is empty');
        const parameters = Object.keys((body.runtime_config as KfpRun['runtime_config'] | undefined)?.parameters ?? {});
        const undeclared = options.inputs ? parameters.filter((name) => !options.inputs?.includes(name)) : [];
        if (undeclared.length > 0)
          return fail(
            response,
            400,
            3,
            `Failed to create a run: InvalidInputError: parameter(s) provided are not used in the pipeline: [${undeclared.join(' ')}]`,
          );
        const experiment = typeof body.experiment_id === 'string' ? experiments.get(body.experiment_id) : undefined;
        if (options.multiUser && !experiment)
          return fail(
            response,
            400,
            3,
            "Failed to create a run: InvalidInputError: Run has no experiment in multi-user mode: a run's namespace is its experiment's",
          );
        const run: KfpRun = {
          run_id: randomUUID(),
          display_name: body.display_name,
          ...(typeof body.description === 'string' && { description: body.description }),
          experiment_id: typeof body.experiment_id === 'string' ? body.experiment_id : 'default-experiment',
          pipeline_version_reference: { pipeline_id: reference?.pipeline_id ?? '', pipeline_version_id: version },
          runtime_config: body.runtime_config as KfpRun['runtime_config'],
          ...(typeof body.service_account === 'string' && { service_account: body.service_account }),
          storage_state: 'AVAILABLE',
          state: 'PENDING',
          created_at: new Date(Date.now() + runs.size).toISOString(),
          state_history: [],
          run_details: { task_details: [] },
        };
        setState(run, 'PENDING');
        runs.set(run.run_id, run);
        return ok(response, run);
      }
      if (!id && request.method === 'GET') {
        const filter = url.searchParams.get('filter');
        const predicates = filter ? (JSON.parse(filter) as { predicates: Predicate[] }).predicates : [];
        const found = [...runs.values()]
          .filter((run) =>
            predicates.every(
              (p) =>
                p.key === 'display_name' &&
                (p.operation === 'EQUALS'
                  ? run.display_name === p.string_value
                  : p.operation === 'IS_SUBSTRING'
                    ? run.display_name.includes(p.string_value ?? '')
                    : false),
            ),
          )
          .sort((a, b) => b.created_at.localeCompare(a.created_at));
        const size = Number(url.searchParams.get('page_size') ?? 20);
        const start = Number(url.searchParams.get('page_token') ?? 0);
        const page = found.slice(start, start + size).map(({ run_details: _details, ...listed }) => listed);
        return ok(
          response,
          page.length > 0
            ? {
                runs: page,
                total_size: found.length,
                ...(start + size < found.length && { next_page_token: String(start + size) }),
              }
            : {},
        );
      }
      const run = id ? runs.get(id) : undefined;
      if (!run) return fail(response, 404, 5, `Failed to get a run: ResourceNotFoundError: Run ${id ?? ''} not found`);
      if (request.method === 'GET') return ok(response, run);
      if (request.method === 'POST' && verb === 'terminate') {
        setState(run, 'CANCELING');
        return ok(response, {});
      }
      if (request.method === 'DELETE') {
        runs.delete(run.run_id);
        return ok(response, {});
      }
      return fail(response, 405, 12, 'Method Not Allowed');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const byName = (name: string) => [...runs.values()].find((run) => run.display_name === name);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    runs,
    experiments,
    requests,
    byName,
    /** Moves the named run to a state, with an error message for a failure. */
    setState(name: string, state: string, error?: string) {
      const run = byName(name);
      if (!run) throw new Error(`no run ${name}`);
      setState(run, state, error);
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
