import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1ContainerState, V1Job, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Pod } from 'kubernetes-models/v1/Pod';
import { kubeconfigFor } from './argocd-server.ts';

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  reason,
  message,
  code,
});

const matches = (labels: Record<string, string> | undefined, selector: string | null) =>
  !selector ||
  selector.split(',').every((term) => {
    const [key, value] = term.split('=') as [string, string];
    return labels?.[key] === value;
  });

export interface PodFailure {
  /** `Evicted` for an evicted pod. */
  reason?: string;
  message?: string;
  /** How the `train` container ended. */
  terminated?: { exitCode: number; reason: string };
  log?: string;
}

/**
 * A loopback Kubernetes API for training Jobs: create (schema-validated, 409 on a second
 * create, 404 for an unknown namespace, 403 when forbidden), get, list by label selector,
 * watch, delete, and the Job's pods and their logs. Tests move Jobs along with complete()
 * and fail(), which watchers see as MODIFIED events.
 */
export async function startJobsApi(options: { namespaces?: string[]; forbidden?: boolean } = {}) {
  const namespaces = new Set(options.namespaces ?? ['ml']);
  const jobs = new Map<string, V1Job>();
  const pods = new Map<string, V1Pod>();
  const logs = new Map<string, string>();
  const watchers = new Set<{ namespace: string; selector: string | null; response: ServerResponse }>();
  const requests: { method: string; path: string; body?: V1Job }[] = [];
  let resourceVersion = 1;

  const emit = (type: string, job: V1Job) => {
    for (const watcher of watchers) {
      if (watcher.namespace === job.metadata?.namespace && matches(job.metadata?.labels, watcher.selector))
        watcher.response.write(`${JSON.stringify({ type, object: job })}\n`);
    }
  };
  const send = (response: ServerResponse, code: number, body: unknown) =>
    response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://k8s');
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body = text ? (JSON.parse(text) as V1Job) : undefined;
      requests.push({ method: request.method ?? 'GET', path: `${url.pathname}${url.search}`, ...(body && { body }) });
      const jobsPath = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs(?:\/([^/]+))?$/.exec(url.pathname);
      const podsPath = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+)\/log)?$/.exec(url.pathname);
      if (jobsPath) {
        const [, namespace, name] = jobsPath as unknown as [string, string, string | undefined];
        if (!namespaces.has(namespace))
          return send(response, 404, status(404, 'NotFound', `namespaces "${namespace}" not found`));
        if (options.forbidden)
          return send(
            response,
            403,
            status(
              403,
              'Forbidden',
              `jobs.batch is forbidden: User "system:serviceaccount:edgeship:edgeship" cannot ${request.method === 'POST' ? 'create' : request.method === 'DELETE' ? 'delete' : name ? 'get' : 'list'} resource "jobs" in API group "batch" in the namespace "${namespace}"`,
            ),
          );
        const id = `${namespace}/${name ?? ''}`;
        if (request.method === 'POST' && !name && body) {
          new Job(body as never).validate();
          const key = `${namespace}/${body.metadata?.name ?? ''}`;
          if (jobs.has(key))
            return send(
              response,
              409,
              status(409, 'AlreadyExists', `jobs.batch "${body.metadata?.name ?? ''}" already exists`),
            );
          const job: V1Job = {
            ...body,
            metadata: {
              ...body.metadata,
              uid: `uid-${resourceVersion}`,
              resourceVersion: String(++resourceVersion),
              creationTimestamp: new Date(),
            },
            status: { active: 1, startTime: new Date() },
          };
          jobs.set(key, job);
          emit('ADDED', job);
          return send(response, 201, job);
        }
        if (request.method === 'GET' && !name) {
          const selector = url.searchParams.get('labelSelector');
          const items = [...jobs.values()].filter(
            (job) => job.metadata?.namespace === namespace && matches(job.metadata?.labels, selector),
          );
          if (url.searchParams.get('watch') === 'true') {
            response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
            for (const job of items) response.write(`${JSON.stringify({ type: 'ADDED', object: job })}\n`);
            const watcher = { namespace, selector, response };
            watchers.add(watcher);
            request.socket.on('close', () => watchers.delete(watcher));
            return undefined;
          }
          return send(response, 200, {
            apiVersion: 'batch/v1',
            kind: 'JobList',
            metadata: { resourceVersion: String(resourceVersion) },
            items,
          });
        }
        const job = jobs.get(id);
        if (!job) return send(response, 404, status(404, 'NotFound', `jobs.batch "${name ?? ''}" not found`));
        if (request.method === 'GET') return send(response, 200, job);
        if (request.method === 'DELETE') {
          jobs.delete(id);
          emit('DELETED', job);
          return send(response, 200, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Success',
            details: { name, group: 'batch', kind: 'jobs' },
          });
        }
      }
      if (podsPath && request.method === 'GET') {
        const [, namespace, podName] = podsPath as unknown as [string, string, string | undefined];
        if (podName) {
          const log = logs.get(`${namespace}/${podName}`);
          return log === undefined
            ? send(response, 404, status(404, 'NotFound', `pods "${podName}" not found`))
            : response.writeHead(200, { 'content-type': 'text/plain' }).end(log);
        }
        const selector = url.searchParams.get('labelSelector');
        const items = [...pods.values()].filter(
          (pod) => pod.metadata?.namespace === namespace && matches(pod.metadata?.labels, selector),
        );
        return send(response, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
      }
      return send(response, 404, status(404, 'NotFound', `no route ${request.method ?? ''} ${url.pathname}`));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const update = (namespace: string, name: string, change: (job: V1Job) => void) => {
    const job = jobs.get(`${namespace}/${name}`);
    if (!job) throw new Error(`no job ${namespace}/${name}`);
    change(job);
    job.metadata = { ...job.metadata, resourceVersion: String(++resourceVersion) };
    new Job(JSON.parse(JSON.stringify(job)) as never).validate();
    emit('MODIFIED', job);
  };
  const condition = (type: string, reason?: string, message?: string) => ({
    type,
    status: 'True',
    lastProbeTime: new Date(),
    lastTransitionTime: new Date(),
    ...(reason && { reason }),
    ...(message && { message }),
  });

  /** Puts the Job's pod (schema-checked) with its status and the state of its `train` container. */
  const putPod = (namespace: string, job: string, suffix: string, status: V1PodStatus, train?: V1ContainerState) => {
    const podName = `${job}-${suffix}`;
    const value: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: podName, namespace, labels: { 'job-name': job }, creationTimestamp: new Date() },
      spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: 'ghcr.io/acme/train:1' }] },
      status: {
        ...status,
        ...(train && {
          containerStatuses: [
            { name: 'train', image: 'ghcr.io/acme/train:1', imageID: '', ready: false, restartCount: 0, state: train },
          ],
        }),
      },
    };
    new Pod(JSON.parse(JSON.stringify(value)) as never).validate();
    pods.set(`${namespace}/${podName}`, value);
    return podName;
  };

  return {
    kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`),
    jobs,
    requests,
    /** The Job succeeded. */
    complete(namespace: string, name: string) {
      update(namespace, name, (job) => {
        job.status = {
          succeeded: 1,
          ...(job.status?.startTime && { startTime: job.status.startTime }),
          completionTime: new Date(),
          conditions: [
            condition('SuccessCriteriaMet', 'CompletionsReached'),
            condition('Complete', 'CompletionsReached'),
          ],
        };
      });
    },
    /** The Job failed for `reason` (DeadlineExceeded, BackoffLimitExceeded), with its pod's story. */
    fail(namespace: string, name: string, reason: string, pod: PodFailure = {}) {
      const podName = putPod(
        namespace,
        name,
        'x7k2p',
        { phase: 'Failed', ...(pod.reason && { reason: pod.reason }), ...(pod.message && { message: pod.message }) },
        pod.terminated && { terminated: { ...pod.terminated, startedAt: new Date(), finishedAt: new Date() } },
      );
      if (pod.log !== undefined) logs.set(`${namespace}/${podName}`, pod.log);
      update(namespace, name, (job) => {
        job.status = {
          failed: 1,
          ...(job.status?.startTime && { startTime: job.status.startTime }),
          conditions: [
            condition('FailureTarget', reason),
            condition(
              'Failed',
              reason,
              reason === 'DeadlineExceeded'
                ? 'Job was active longer than specified deadline'
                : 'Job has reached the specified backoff limit',
            ),
          ],
        };
      });
    },
    /** The Job's pod is Pending: not schedulable, or its container waits for a reason. */
    pending(
      namespace: string,
      name: string,
      why: { unschedulable?: string; waiting?: { reason: string; message: string } },
    ) {
      const scheduling = why.unschedulable && {
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: why.unschedulable,
            lastTransitionTime: new Date(),
          },
        ],
      };
      putPod(namespace, name, 'p3nd1', { phase: 'Pending', ...scheduling }, why.waiting && { waiting: why.waiting });
    },
    /** Someone deleted the Job. */
    remove(namespace: string, name: string) {
      const job = jobs.get(`${namespace}/${name}`);
      jobs.delete(`${namespace}/${name}`);
      if (job) emit('DELETED', job);
    },
    watching: () => watchers.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const watcher of watchers) watcher.response.end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
