import { readFile } from 'node:fs/promises';
import { EdgeshipError } from '../../core/errors.ts';
import type { KubeflowTraining } from '../../core/training-config.ts';
import { kubeflowRunName, modelOfRunKey, type ClusterRun, type ClusterRunState } from '../../core/training-run.ts';
import type { StartedRun, TrainingCluster } from '../../ports.ts';
import { callJson } from '../http/json-api.ts';

/** The parts of a v2beta1 Run the backend reads. */
interface KfpRun {
  run_id: string;
  display_name?: string;
  state?: string;
  error?: { code?: number; message?: string };
  runtime_config?: { parameters?: Record<string, unknown> };
  /** Each task of the run: a failed one carries why (the run's own `error` says only that it could not be read). */
  run_details?: { task_details?: { display_name?: string; state?: string; error?: { message?: string } }[] };
}

/** States a run can still leave: CANCELING may yet end SUCCEEDED, FAILED or CANCELED. */
const UNFINISHED = new Set(['RUNTIME_STATE_UNSPECIFIED', 'PENDING', 'RUNNING', 'PAUSED', 'CANCELING']);
const FAILED: Record<string, string> = {
  FAILED: 'the pipeline run failed',
  CANCELED: 'the pipeline run was cancelled',
  SKIPPED: 'the pipeline run was skipped',
};
/** The experiment runs go to in a multi-user profile namespace, when the config names no experiment. */
const EXPERIMENT = 'edgeship';

/** Where the token of the pod's service account for KFP is, as the KFP SDK reads it. */
export const KFP_TOKEN_PATH = '/var/run/secrets/kubeflow/pipelines/token';

export interface KubeflowAuth {
  /** A bearer token (KFP_TOKEN); without it, the projected service account token file. */
  token?: string;
  tokenPath?: string;
}

/**
 * Training runs of a Kubeflow Pipelines v2 pipeline over the REST API (v2beta1). A run is
 * created under a name from the run key and found again by it, so a redelivered event does
 * not start a second run. The pipeline's last step stores the report (`edgeship cloud-run
 * --report-only` or the same OCI push), which the app reads like a Job's.
 */
export class KubeflowPipelines implements TrainingCluster {
  private readonly api: string;

  constructor(
    private readonly spec: KubeflowTraining,
    private readonly auth: KubeflowAuth = {},
  ) {
    this.api = `${spec.endpoint.replace(/\/+$/, '')}/apis/v2beta1`;
  }

  where(key: string): string {
    return `Kubeflow Pipelines run \`${kubeflowRunName(key)}\` of pipeline \`${this.spec.pipelineId}\` at ${this.spec.endpoint}`;
  }

  url(key: string, runId?: string): string | undefined {
    if (!runId) return undefined;
    return this.spec.runUrl
      ? this.spec.runUrl.replaceAll('{run}', runId)
      : `${this.spec.endpoint.replace(/\/+$/, '')}/#/runs/details/${runId}`;
  }

  async start(run: ClusterRun): Promise<StartedRun> {
    const name = kubeflowRunName(run.key);
    const existing = await this.find(run.key);
    if (existing) return { created: false, name, ...this.link(run.key, existing.run_id) };
    const parameters = {
      ...this.spec.parameters,
      sha: run.sha,
      run_key: run.key,
      repo_url: run.repoUrl,
      branch: run.branch,
      reason: run.reason,
      context: run.context?.slice(0, 1000) ?? '',
      ...(run.callback && { callback_url: run.callback.url, callback_token: run.callback.token }),
    };
    // Only fields of a v2beta1 Run: KFP ≥ 2.14 refuses others. In multi-user KFP a run's
    // namespace is its experiment's.
    const experiment = await this.experimentId();
    const body = {
      display_name: name,
      description: `edgeship training of ${run.model} at ${run.repo}@${run.sha.slice(0, 7)} (${run.reason})`,
      pipeline_version_reference: {
        pipeline_id: this.spec.pipelineId,
        ...(this.spec.pipelineVersionId && { pipeline_version_id: this.spec.pipelineVersionId }),
      },
      runtime_config: { parameters },
      ...(experiment && { experiment_id: experiment }),
      ...(this.spec.serviceAccount && { service_account: this.spec.serviceAccount }),
    };
    const created = (await this.call('POST', 'runs', body)) as KfpRun;
    return { created: true, name, ...this.link(run.key, created.run_id) };
  }

  async state(key: string): Promise<ClusterRunState> {
    const found = await this.find(key);
    if (!found) return { phase: 'missing' };
    const url = this.url(key, found.run_id);
    const state = found.state ?? 'RUNTIME_STATE_UNSPECIFIED';
    if (UNFINISHED.has(state)) return { phase: 'running', ...(url && { url }) };
    if (state === 'SUCCEEDED') return { phase: 'succeeded', ...(url && { url }) };
    const why = await this.failureOf(found);
    const reason = `${FAILED[state] ?? `the pipeline run ended as ${state}`}${why ? `: ${why}` : ''}`;
    return { phase: 'failed', reason, ...(url && { url }) };
  }

  /** Why a run failed: its failed tasks' errors (from the run itself: a list leaves details out). */
  private async failureOf(run: KfpRun): Promise<string | undefined> {
    const full = run.run_details ? run : ((await this.call('GET', `runs/${encodeURIComponent(run.run_id)}`)) as KfpRun);
    const tasks = (full.run_details?.task_details ?? []).filter(
      (task) => task.error?.message && task.state !== 'SUCCEEDED',
    );
    const messages = tasks.map(
      (task) => `${task.display_name ? `${task.display_name}: ` : ''}${task.error?.message ?? ''}`,
    );
    return messages.length > 0 ? messages.join('; ').slice(0, 1000) : full.error?.message;
  }

  /** The configured experiment, or in a profile namespace edgeship's own there (created once). */
  private async experimentId(): Promise<string | undefined> {
    if (this.spec.experimentId || !this.spec.namespace) return this.spec.experimentId;
    const filter = JSON.stringify({
      predicates: [{ key: 'display_name', operation: 'EQUALS', string_value: EXPERIMENT }],
    });
    const query = new URLSearchParams({ filter, namespace: this.spec.namespace, page_size: '1' });
    const found = (await this.call('GET', `experiments?${query.toString()}`)) as {
      experiments?: { experiment_id: string }[];
    };
    if (found.experiments?.[0]) return found.experiments[0].experiment_id;
    const created = (await this.call('POST', 'experiments', {
      display_name: EXPERIMENT,
      description: 'Training runs started by edgeship',
      namespace: this.spec.namespace,
    })) as { experiment_id: string };
    return created.experiment_id;
  }

  async cancelSuperseded(model: string, branch: string, keep: string): Promise<string[]> {
    const cancelled: string[] = [];
    // KFP filters have no prefix match: the substring finds other models' runs too (pump and
    // pump-forecaster), so each run's key must name this model exactly.
    for (const run of await this.list(kubeflowRunName(`${model}-`), 'IS_SUBSTRING')) {
      const parameters = run.runtime_config?.parameters ?? {};
      const key = parameters.run_key;
      if (typeof key !== 'string' || modelOfRunKey(key) !== model || key === keep || parameters.branch !== branch)
        continue;
      if (!UNFINISHED.has(run.state ?? '') || run.state === 'CANCELING') continue;
      await this.call('POST', `runs/${encodeURIComponent(run.run_id)}:terminate`, {});
      cancelled.push(key);
    }
    return cancelled;
  }

  private link(key: string, runId: string): { url?: string } {
    const url = this.url(key, runId);
    return url ? { url } : {};
  }

  /** The newest run created under the key's name. */
  private async find(key: string): Promise<KfpRun | undefined> {
    return (await this.list(kubeflowRunName(key), 'EQUALS', 1))[0];
  }

  /** Runs by display name, newest first, page by page (up to `limit`). */
  private async list(name: string, operation: 'EQUALS' | 'IS_SUBSTRING', limit = Infinity): Promise<KfpRun[]> {
    const filter = JSON.stringify({ predicates: [{ key: 'display_name', operation, string_value: name }] });
    const runs: KfpRun[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({
        filter,
        page_size: '100',
        sort_by: 'created_at desc',
        ...(token && { page_token: token }),
      });
      if (this.spec.experimentId) query.set('experiment_id', this.spec.experimentId);
      if (this.spec.namespace) query.set('namespace', this.spec.namespace);
      const page = (await this.call('GET', `runs?${query.toString()}`)) as {
        runs?: KfpRun[];
        next_page_token?: string;
      };
      runs.push(...(page.runs ?? []));
      token = page.next_page_token || undefined;
    } while (token && runs.length < limit);
    return runs;
  }

  private async token(): Promise<string | undefined> {
    if (this.auth.token) return this.auth.token;
    // The projected token rotates: read it for each call, as the KFP SDK does.
    return readFile(this.auth.tokenPath ?? KFP_TOKEN_PATH, 'utf8').then(
      (text) => text.trim(),
      () => undefined,
    );
  }

  private async call(method: 'GET' | 'POST', path: string, body?: object): Promise<unknown> {
    const token = await this.token();
    return callJson(
      { method, url: `${this.api}/${path}`, ...(body && { body }), ...(token && { token }), timeoutMs: 15_000 },
      {
        unreachable: `Kubeflow Pipelines at ${this.spec.endpoint} is unreachable`,
        failed: ({ status, detail, text }) => {
          const message =
            typeof detail.message === 'string'
              ? detail.message
              : typeof detail.error === 'string'
                ? detail.error
                : text.slice(0, 200);
          const hint =
            status === 401 || status === 403
              ? " (set KFP_TOKEN or give the app's service account access to the pipeline's namespace)"
              : status === 404
                ? ' (check train.kubeflow.pipelineId and pipelineVersionId)'
                : '';
          return new EdgeshipError(`Kubeflow Pipelines ${method} ${path.split('?')[0]}: ${status} ${message}${hint}`);
        },
      },
    );
  }
}
