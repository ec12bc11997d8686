import type { V1Job } from '@kubernetes/client-node';
import type { KubernetesTraining } from '../../core/training-config.ts';
import { branchLabel, jobName, runEnvironment, type ClusterRun } from '../../core/training-run.ts';

export const MANAGED_BY = {
  'app.kubernetes.io/managed-by': 'edgeship',
  'app.kubernetes.io/component': 'training',
} as const;
export const MODEL_LABEL = 'edgeship.dev/model';
export const BRANCH_LABEL = 'edgeship.dev/branch';
export const RUN_KEY_ANNOTATION = 'edgeship.dev/run-key';

const selector = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([label, value]) => `${label}=${value}`)
    .join(',');

/** Label selector of every edgeship training Job. */
export const trainingSelector = selector(MANAGED_BY);

/** Label selector of the Jobs of a model's branch, finished or not. */
export const branchSelector = (model: string, branch: string) =>
  selector({ ...MANAGED_BY, [MODEL_LABEL]: model, [BRANCH_LABEL]: branchLabel(branch) });

/**
 * The batch/v1 Job of a training run: a deterministic name from the run key (a redelivered
 * event gets a 409, not a second Job), labels to find the model's Jobs, annotations that say
 * which repo, commit and run it is, no retries (a failed training is reported, not repeated)
 * and the config's deadline and TTL.
 */
export function trainingJob(spec: KubernetesTraining, timeoutMinutes: number, run: ClusterRun): V1Job {
  const labels = { ...MANAGED_BY, [MODEL_LABEL]: run.model, [BRANCH_LABEL]: branchLabel(run.branch) };
  const resources = containerResources(spec.resources);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(run.key),
      namespace: spec.namespace,
      labels,
      annotations: {
        [RUN_KEY_ANNOTATION]: run.key,
        'edgeship.dev/repo': run.repo,
        'edgeship.dev/sha': run.sha,
        'edgeship.dev/branch': run.branch,
        'edgeship.dev/reason': run.reason,
      },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: Math.round(timeoutMinutes * 60),
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(spec.serviceAccount && { serviceAccountName: spec.serviceAccount }),
          ...(Object.keys(spec.nodeSelector).length > 0 && { nodeSelector: spec.nodeSelector }),
          ...(spec.tolerations.length > 0 && { tolerations: spec.tolerations }),
          ...(spec.imagePullSecrets.length > 0 && {
            imagePullSecrets: spec.imagePullSecrets.map((name) => ({ name })),
          }),
          containers: [
            {
              name: 'train',
              image: spec.image,
              command: spec.command,
              env: Object.entries(runEnvironment(run)).map(([name, value]) => ({ name, value })),
              ...(spec.secrets.length > 0 && { envFrom: spec.secrets.map((name) => ({ secretRef: { name } })) }),
              ...(resources && { resources }),
            },
          ],
        },
      },
    },
  };
}

/** Requests for CPU, memory and GPUs; limits for memory and GPUs (GPUs must be in both). */
function containerResources(
  resources: KubernetesTraining['resources'],
): { requests?: Record<string, string>; limits?: Record<string, string> } | undefined {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (resources.cpu) requests.cpu = resources.cpu;
  if (resources.memory) requests.memory = limits.memory = resources.memory;
  if (resources.gpu > 0) requests['nvidia.com/gpu'] = limits['nvidia.com/gpu'] = String(resources.gpu);
  if (Object.keys(requests).length === 0) return undefined;
  return { requests, ...(Object.keys(limits).length > 0 && { limits }) };
}
