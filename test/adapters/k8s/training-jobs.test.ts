import type { V1Job, V1PodSpec } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobName } from '../../../src/core/training-run.ts';
import { KubernetesJobs } from '../../../src/adapters/k8s/training-jobs.ts';
import type { KubernetesTraining } from '../../../src/core/training-config.ts';
import { kubernetesTrainingSchema } from '../../../src/core/training-config.ts';
import { WAIT } from '../../helpers/fixtures.ts';
import { startJobsApi } from '../../helpers/k8s-jobs-server.ts';

const spec: KubernetesTraining = kubernetesTrainingSchema.parse({
  namespace: 'ml',
  image: 'ghcr.io/acme/train:1',
  serviceAccount: 'trainer',
  resources: { cpu: 4, memory: '16Gi', gpu: 1 },
  nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A40' },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  secrets: ['edgeship-train'],
  logsUrl: 'https://grafana.example/explore?job={namespace}/{job}',
});

const run = (sha: string, branch = 'main') => ({
  key: `pump-${sha.slice(0, 12)}-0a1b2c3d`,
  model: 'pump',
  repo: 'acme/pump',
  sha,
  branch,
  reason: 'push',
  repoUrl: 'https://github.com/acme/pump.git',
  callback: { url: 'https://edgeship.example/api/edgeship/training', token: 't0k' },
});
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('KubernetesJobs', () => {
  let api: Awaited<ReturnType<typeof startJobsApi>>;
  let jobs: KubernetesJobs;
  beforeEach(async () => {
    api = await startJobsApi();
    jobs = new KubernetesJobs(api.kubeconfig, spec, 90);
  });
  afterEach(async () => api.stop());

  it("creates one schema-valid Job per run key, with the config's resources, placement, secrets and deadline", async () => {
    const started = await jobs.start(run(A));
    expect(started).toEqual({ created: true, name: jobName(run(A).key) });
    expect(await jobs.start(run(A))).toEqual({ created: false, name: started.name });
    expect(api.jobs.size).toBe(1);
    const created = api.requests.find((request) => request.method === 'POST')?.body as V1Job;
    expect(created.metadata).toMatchObject({
      namespace: 'ml',
      labels: { 'app.kubernetes.io/managed-by': 'edgeship', 'edgeship.dev/model': 'pump' },
      annotations: { 'edgeship.dev/run-key': run(A).key, 'edgeship.dev/repo': 'acme/pump', 'edgeship.dev/sha': A },
    });
    expect(created.spec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 5400,
      ttlSecondsAfterFinished: 86_400,
    });
    const pod = created.spec?.template.spec as V1PodSpec;
    expect(pod).toMatchObject({
      restartPolicy: 'Never',
      serviceAccountName: 'trainer',
      nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-A40' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    });
    expect(pod.containers[0]).toMatchObject({
      image: 'ghcr.io/acme/train:1',
      command: ['edgeship', 'cloud-run'],
      envFrom: [{ secretRef: { name: 'edgeship-train' } }],
      resources: {
        requests: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' },
        limits: { memory: '16Gi', 'nvidia.com/gpu': '1' },
      },
    });
    expect(Object.fromEntries((pod.containers[0]?.env ?? []).map((entry) => [entry.name, entry.value]))).toEqual({
      EDGESHIP_REPO_URL: 'https://github.com/acme/pump.git',
      EDGESHIP_SHA: A,
      EDGESHIP_BRANCH: 'main',
      EDGESHIP_RUN_KEY: run(A).key,
      EDGESHIP_REASON: 'push',
      EDGESHIP_CALLBACK_URL: 'https://edgeship.example/api/edgeship/training',
      EDGESHIP_CALLBACK_TOKEN: 't0k',
    });
  });

  it('reads running, succeeded and gone from the Job', async () => {
    const { name } = await jobs.start(run(A));
    const url = `https://grafana.example/explore?job=ml/${name}`;
    expect(await jobs.state(run(A).key)).toEqual({ phase: 'running', url });
    api.complete('ml', name);
    expect(await jobs.state(run(A).key)).toEqual({ phase: 'succeeded', url });
    api.remove('ml', name);
    expect(await jobs.state(run(A).key)).toEqual({ phase: 'missing' });
    expect(jobs.where(run(A).key)).toBe(
      `Job \`${name}\` in namespace \`ml\`; logs: \`kubectl logs -n ml job/${name}\` or ${url}`,
    );
  });

  it('says why a running Job makes no progress: no node fits, the image does not pull, a secret is missing', async () => {
    const { name } = await jobs.start(run(A));
    expect(await jobs.state(run(A).key)).not.toHaveProperty('stuck');
    api.pending('ml', name, {
      unschedulable: '0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available.',
    });
    expect(await jobs.state(run(A).key)).toMatchObject({
      phase: 'running',
      stuck:
        'the pod cannot be scheduled: 0/4 nodes are available: 4 Insufficient nvidia.com/gpu. preemption: 0/4 nodes are available.',
    });
    const other = await jobs.start(run(B));
    api.pending('ml', other.name, {
      waiting: { reason: 'CreateContainerConfigError', message: 'secret "edgeship-train" not found' },
    });
    expect(await jobs.state(run(B).key)).toMatchObject({
      stuck: 'the training container cannot start: CreateContainerConfigError (secret "edgeship-train" not found)',
    });
    const third = await jobs.start(run('c'.repeat(40)));
    api.pending('ml', third.name, { waiting: { reason: 'ContainerCreating', message: '' } });
    expect(await jobs.state(run('c'.repeat(40)).key)).not.toHaveProperty('stuck');
  });

  it("says why a Job failed: deadline, eviction, out of memory, exit code, with the log's last lines", async () => {
    const cases = [
      {
        reason: 'DeadlineExceeded',
        pod: {},
        expected: 'the Job ran longer than its deadline of 5400 s (train.timeoutMinutes: 90) and was stopped',
      },
      {
        reason: 'BackoffLimitExceeded',
        pod: { reason: 'Evicted', message: 'The node was low on resource: ephemeral-storage.' },
        expected: 'was evicted: The node was low on resource: ephemeral-storage.',
      },
      {
        reason: 'BackoffLimitExceeded',
        pod: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        expected:
          'the training container ran out of memory (OOMKilled, exit 137); raise train.kubernetes.resources.memory',
      },
      {
        reason: 'BackoffLimitExceeded',
        pod: { terminated: { exitCode: 2, reason: 'Error' }, log: 'epoch 1\nTraceback: ValueError: bad column\n' },
        expected: 'the training container exited with code 2',
      },
    ];
    for (const [index, failure] of cases.entries()) {
      const sha = String(index).repeat(40);
      const { name } = await jobs.start(run(sha));
      api.fail('ml', name, failure.reason, failure.pod);
      const state = await jobs.state(run(sha).key);
      expect(state.phase).toBe('failed');
      expect(state.phase === 'failed' && state.reason).toContain(failure.expected);
    }
    const last = await jobs.state(run('3'.repeat(40)).key);
    expect(last.phase === 'failed' && last.details).toBe('epoch 1\nTraceback: ValueError: bad column');
    expect(api.requests.some((request) => request.path.includes('/log?container=train&tailLines=40'))).toBe(true);
  });

  it('cancels the unfinished Jobs of the same branch, and no others', async () => {
    const old = await jobs.start(run(A));
    const finished = await jobs.start(run('c'.repeat(40)));
    api.complete('ml', finished.name);
    const otherBranch = await jobs.start(run('d'.repeat(40), 'feature/x'));
    await jobs.start(run(B));
    expect(await jobs.cancelSuperseded('pump', 'main', run(B).key)).toEqual([run(A).key]);
    expect([...api.jobs.keys()].sort()).toEqual(
      [`ml/${finished.name}`, `ml/${otherBranch.name}`, `ml/${jobName(run(B).key)}`].sort(),
    );
    expect(api.requests.find((request) => request.method === 'DELETE')?.path).toBe(
      `/apis/batch/v1/namespaces/ml/jobs/${old.name}?propagationPolicy=Background`,
    );
  });

  it('names a missing namespace and a denial by RBAC', async () => {
    await expect(new KubernetesJobs(api.kubeconfig, { ...spec, namespace: 'nope' }, 60).start(run(A))).rejects.toThrow(
      /^train\.kubernetes\.namespace: expected a namespace of the training cluster, found "nope" missing \(namespaces "nope" not found\)$/,
    );
    const denied = await startJobsApi({ forbidden: true });
    try {
      await expect(new KubernetesJobs(denied.kubeconfig, spec, 60).start(run(A))).rejects.toThrow(
        /^the app may not create Jobs in namespace "ml" \(RBAC\): jobs\.batch is forbidden: User "system:serviceaccount:edgeship:edgeship" cannot create/,
      );
    } finally {
      await denied.stop();
    }
  });

  it('watches the namespace and reports each Job that finished or went away', async () => {
    const finished: string[] = [];
    const stop = jobs.watch((key) => finished.push(key), 50);
    try {
      const first = await jobs.start(run(A));
      const second = await jobs.start(run(B));
      await expect.poll(() => api.watching(), WAIT).toBe(1);
      api.complete('ml', first.name);
      api.remove('ml', second.name);
      await expect.poll(() => finished, WAIT).toEqual([run(A).key, run(B).key]);
    } finally {
      stop();
    }
  });

  it('backs off from a watch the cluster refuses and says so once, instead of retrying in a storm', async () => {
    const denied = await startJobsApi({ forbidden: true });
    const refusals: string[] = [];
    const stop = new KubernetesJobs(denied.kubeconfig, spec, 60).watch(
      () => undefined,
      20,
      (message) => refusals.push(message),
    );
    try {
      await expect.poll(() => refusals.length, WAIT).toBe(1);
      // Without the backoff a 20 ms retry makes about 50 attempts a second; doubling makes 6.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(denied.requests.filter((request) => request.path.includes('watch=true')).length).toBeLessThanOrEqual(7);
      expect(refusals).toEqual([
        expect.stringMatching(
          /^the app may not watch Jobs in namespace "ml" \(RBAC\): Forbidden\. Grant its service account/,
        ) as string,
      ]);
    } finally {
      stop();
      await denied.stop();
    }
  });
});
