import { BatchV1Api, CoreV1Api, Watch, type KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import type { KubernetesTraining } from '../../core/training-config.ts';
import { branchSelector, RUN_KEY_ANNOTATION, trainingJob, trainingSelector } from './job-manifest.ts';
import { jobName, type ClusterRun, type ClusterRunState } from '../../core/training-run.ts';
import type { StartedRun, TrainingCluster } from '../../ports.ts';
import { jsonOrUndefined } from '../../core/parse-json.ts';

const LOG_LINES = 40;

interface ApiError {
  code?: number;
  body?: unknown;
}

/** The `message` of a Kubernetes Status in an API error, or the error's own first line. */
function statusMessage(error: unknown): string {
  const { body } = error as ApiError;
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? '');
  const status = jsonOrUndefined(text) as { message?: unknown } | null | undefined;
  if (typeof status?.message === 'string' && status.message) return status.message;
  return messageOf(error).split('\n')[0] ?? '';
}

const finished = (job: V1Job) =>
  job.status?.conditions?.find(
    (condition) => (condition.type === 'Complete' || condition.type === 'Failed') && condition.status === 'True',
  );

/**
 * Training runs as Kubernetes Jobs in the cloud cluster. The Job name comes from the run key,
 * so starting the same run twice finds the first Job (409) instead of creating another; the
 * state is read from the Job's conditions and its pod, with the pod's last log lines on failure.
 */
/** The longest wait between watches the cluster refused. */
const MAX_WATCH_BACKOFF_MS = 10 * 60_000;

export class KubernetesJobs implements TrainingCluster {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;

  constructor(
    private readonly kubeconfig: KubeConfig,
    private readonly spec: KubernetesTraining,
    private readonly timeoutMinutes: number,
  ) {
    this.batch = kubeconfig.makeApiClient(BatchV1Api);
    this.core = kubeconfig.makeApiClient(CoreV1Api);
  }

  private get namespace(): string {
    return this.spec.namespace;
  }

  where(key: string): string {
    const job = jobName(key);
    const link = this.url(key);
    return `Job \`${job}\` in namespace \`${this.namespace}\`; logs: \`kubectl logs -n ${this.namespace} job/${job}\`${link ? ` or ${link}` : ''}`;
  }

  url(key: string): string | undefined {
    return this.spec.logsUrl?.replaceAll('{namespace}', this.namespace).replaceAll('{job}', jobName(key));
  }

  async start(run: ClusterRun): Promise<StartedRun> {
    const body = trainingJob(this.spec, this.timeoutMinutes, run);
    const name = body.metadata?.name as string;
    try {
      await this.batch.createNamespacedJob({ namespace: this.namespace, body });
      return { created: true, name };
    } catch (error) {
      if ((error as ApiError).code === 409) return { created: false, name };
      throw this.explain(error, 'create', `create Job ${name}`);
    }
  }

  /** An API error as a person fixes it: a missing namespace, an RBAC denial, a rejected Job. */
  private explain(error: unknown, verb: string, what: string): EdgeshipError {
    const { code } = error as ApiError;
    const message = statusMessage(error);
    if (code === 404)
      return new EdgeshipError(
        `train.kubernetes.namespace: expected a namespace of the training cluster, found "${this.namespace}" missing (${message})`,
        { cause: error },
      );
    if (code === 403 || code === 401)
      return new EdgeshipError(
        `the app may not ${verb} Jobs in namespace "${this.namespace}" (RBAC): ${message}. Grant its service account create, get, list, watch and delete on jobs and get, list on pods and pods/log there.`,
        { cause: error },
      );
    if (code === 422)
      return new EdgeshipError(`train.kubernetes: the cluster rejected the Job: ${message}`, { cause: error });
    return new EdgeshipError(`the training cluster did not ${what} in namespace "${this.namespace}": ${message}`, {
      cause: error,
    });
  }

  async state(key: string): Promise<ClusterRunState> {
    const name = jobName(key);
    let job: V1Job;
    try {
      job = await this.batch.readNamespacedJob({ name, namespace: this.namespace });
    } catch (error) {
      if ((error as ApiError).code === 404) return { phase: 'missing' };
      throw this.explain(error, 'read', `answer for Job ${name}`);
    }
    const url = this.url(key);
    const done = finished(job);
    if (!done) {
      const stuck = stuckReason(await this.lastPod(name));
      return { phase: 'running', ...(url && { url }), ...(stuck && { stuck }) };
    }
    if (done.type === 'Complete') return { phase: 'succeeded', ...(url && { url }) };
    const pod = await this.lastPod(name);
    const reason = failureReason(job, done.reason, done.message, pod, this.timeoutMinutes);
    const logs = pod?.metadata?.name ? await this.tail(pod.metadata.name) : undefined;
    return { phase: 'failed', reason, ...(logs && { details: logs }), ...(url && { url }) };
  }

  async cancelSuperseded(model: string, branch: string, keep: string): Promise<string[]> {
    const jobs = await this.batch
      .listNamespacedJob({ namespace: this.namespace, labelSelector: branchSelector(model, branch) })
      .catch((error: unknown) => {
        throw this.explain(error, 'list', 'list Jobs');
      });
    const cancelled: string[] = [];
    for (const job of jobs.items) {
      const key = job.metadata?.annotations?.[RUN_KEY_ANNOTATION];
      if (!key || key === keep || finished(job)) continue;
      await this.batch
        .deleteNamespacedJob({
          name: job.metadata?.name as string,
          namespace: this.namespace,
          propagationPolicy: 'Background',
        })
        .catch((error: unknown) => {
          if ((error as ApiError).code !== 404) throw error;
        });
      cancelled.push(key);
    }
    return cancelled;
  }

  /**
   * Watches the namespace's edgeship Jobs and calls `onFinished` with the run key of each one
   * that finished or went away. Reconnects after the server closes the watch; stop() ends it.
   * A refusal (401, 403, a missing namespace) is reported once through `onRefused` and retried
   * with a backoff that doubles up to ten minutes, never in a storm.
   */
  watch(
    onFinished: (key: string) => void,
    retryMs = 5_000,
    onRefused: (message: string) => void = () => undefined,
  ): () => void {
    let stopped = false;
    let controller: AbortController | undefined;
    let timer: NodeJS.Timeout | undefined;
    let delay = retryMs;
    let told = false;
    const again = (error?: unknown) => {
      if (stopped) return;
      const status = (error as { statusCode?: number } | null | undefined)?.statusCode;
      if (status === 401 || status === 403 || status === 404) {
        if (!told)
          onRefused(
            this.explain(
              { code: status, body: { message: (error as Error).message } },
              'watch',
              'let the app watch Jobs',
            ).message,
          );
        told = true;
        delay = Math.min(delay * 2, MAX_WATCH_BACKOFF_MS);
      } else if (!error) {
        delay = retryMs;
      }
      timer = setTimeout(() => void connect(), delay).unref();
    };
    const connect = async () => {
      if (stopped) return;
      controller = await new Watch(this.kubeconfig)
        .watch(
          `/apis/batch/v1/namespaces/${this.namespace}/jobs`,
          { labelSelector: trainingSelector },
          (type: string, job: V1Job) => {
            const key = job.metadata?.annotations?.[RUN_KEY_ANNOTATION];
            if (key && (type === 'DELETED' || finished(job))) onFinished(key);
          },
          again,
        )
        .catch((error: unknown) => (again(error), undefined));
    };
    void connect();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
    };
  }

  private async lastPod(job: string): Promise<V1Pod | undefined> {
    const pods = await this.core
      .listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${job}` })
      .catch(() => undefined);
    return pods?.items
      .sort((a, b) =>
        String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? '')),
      )
      .at(-1);
  }

  private async tail(pod: string): Promise<string | undefined> {
    const log = await this.core
      .readNamespacedPodLog({ name: pod, namespace: this.namespace, container: 'train', tailLines: LOG_LINES })
      .catch(() => undefined);
    return typeof log === 'string' && log.trim() ? log.trimEnd() : undefined;
  }
}

/** Waiting reasons of a container that will not start by waiting longer. */
const STUCK = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
]);

/** Why a running Job's pod makes no progress: it cannot be scheduled, or its container cannot start. */
function stuckReason(pod: V1Pod | undefined): string | undefined {
  const unscheduled = pod?.status?.conditions?.find(
    (condition) =>
      condition.type === 'PodScheduled' && condition.status === 'False' && condition.reason === 'Unschedulable',
  );
  if (unscheduled) return `the pod cannot be scheduled: ${unscheduled.message ?? 'no node fits'}`;
  const waiting = pod?.status?.containerStatuses?.find((status) => status.name === 'train')?.state?.waiting;
  if (waiting?.reason && STUCK.has(waiting.reason))
    return `the training container cannot start: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
  return undefined;
}

/** Why a Job failed, in the words a person acts on: deadline, eviction, OOM, exit code. */
function failureReason(
  job: V1Job,
  reason: string | undefined,
  message: string | undefined,
  pod: V1Pod | undefined,
  timeoutMinutes: number,
): string {
  if (reason === 'DeadlineExceeded')
    return `the Job ran longer than its deadline of ${job.spec?.activeDeadlineSeconds ?? timeoutMinutes * 60} s (train.timeoutMinutes: ${timeoutMinutes}) and was stopped`;
  if (pod?.status?.reason === 'Evicted')
    return `the pod ${pod.metadata?.name ?? ''} was evicted: ${pod.status.message ?? 'no message'}`;
  const terminated = pod?.status?.containerStatuses?.find((status) => status.name === 'train')?.state?.terminated;
  if (terminated?.reason === 'OOMKilled')
    return `the training container ran out of memory (OOMKilled, exit ${terminated.exitCode}); raise train.kubernetes.resources.memory`;
  if (terminated)
    return `the training container exited with code ${terminated.exitCode}${terminated.reason && terminated.reason !== 'Error' ? ` (${terminated.reason})` : ''}`;
  const waiting = pod?.status?.containerStatuses?.find((status) => status.name === 'train')?.state?.waiting;
  if (waiting?.reason)
    return `the training container never ran: ${waiting.reason}${waiting.message ? ` (${waiting.message})` : ''}`;
  return `the Job failed: ${reason ?? 'no reason'}${message ? ` (${message})` : ''}`;
}
