import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { KubernetesJobs } from '../adapters/k8s/training-jobs.ts';
import { KubeflowPipelines } from '../adapters/kubeflow/pipelines.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import { callbackToken } from '../core/training-run.ts';
import { allowedNamespaces, allowKubeflowEndpoint, EMPTY_POLICY, type OperatorPolicy } from '../core/policy.ts';
import type { Logger, TrainingCluster } from '../ports.ts';
import type { AppSettings } from '../compose/app-settings.ts';
import { bearerIs, postJsonEndpoint } from './post-endpoint.ts';

export const TRAINING_CALLBACK_PATH = '/api/edgeship/training';

/**
 * The training clusters from the app's settings:
 * - Kubernetes Jobs in the cluster of EDGESHIP_TRAINING_KUBECONFIG (EDGESHIP_TRAINING_CONTEXT
 *   picks a context) or, with EDGESHIP_TRAINING_IN_CLUSTER=true, the pod's own; each namespace
 *   is watched from its first Job on, and a Job that ends calls `onFinished`;
 * - Kubeflow Pipelines at the config's endpoint, with KFP_TOKEN or the pod's KFP token.
 */
export function trainingFrom(
  settings: AppSettings['training'],
  onFinished: (key: string) => void = () => undefined,
  policy: OperatorPolicy = EMPTY_POLICY,
  log?: Logger,
): (config: EdgeshipConfig) => TrainingCluster | undefined {
  const namespaces = allowedNamespaces(policy);
  const file = settings.kubeconfig;
  const kubeconfig: KubeConfig | undefined =
    file || settings.inCluster
      ? loadKubeconfig({
          ...(file && { file }),
          ...(settings.context && { context: settings.context }),
          names: { file: 'EDGESHIP_TRAINING_KUBECONFIG', context: 'EDGESHIP_TRAINING_CONTEXT' },
        })
      : undefined;
  const jobs = new Map<string, KubernetesJobs>();
  const watched = new Set<string>();
  return (config) => {
    const { backend, kubernetes, kubeflow, timeoutMinutes } = config.train;
    // The policy decides where KFP_TOKEN may go; startTraining already refused anything else.
    if (backend === 'kubeflow' && kubeflow)
      return new KubeflowPipelines(
        { ...kubeflow, endpoint: allowKubeflowEndpoint(policy, kubeflow.endpoint) },
        {
          ...(settings.kfpToken && { token: settings.kfpToken }),
          ...(settings.kfpTokenPath && { tokenPath: settings.kfpTokenPath }),
        },
      );
    if (backend !== 'kubernetes' || !kubernetes || !kubeconfig) return undefined;
    const id = JSON.stringify([kubernetes, timeoutMinutes]);
    let cluster = jobs.get(id);
    if (!cluster) {
      cluster = new KubernetesJobs(kubeconfig, kubernetes, timeoutMinutes);
      jobs.set(id, cluster);
      // Jobs are watched only in namespaces the operator allows: a config cannot start watches.
      if (!watched.has(kubernetes.namespace) && namespaces.has(kubernetes.namespace)) {
        watched.add(kubernetes.namespace);
        const namespace = kubernetes.namespace;
        cluster.watch(onFinished, undefined, (message) =>
          log?.warn({ namespace, reason: message }, 'Job watch refused; retrying with backoff'),
        );
      }
    }
    return cluster;
  };
}

/**
 * A run's call that it finished (`edgeship cloud-run` POSTs `{"runKey": …}` with the token the
 * app gave that run). It only nudges the training tick: the Job or pipeline run stays the truth.
 */
export function trainingCallback(secret: string, nudge: () => Promise<unknown>) {
  const notJson = 'expected a JSON body {"runKey": "<EDGESHIP_RUN_KEY>"}';
  return postJsonEndpoint(
    TRAINING_CALLBACK_PATH,
    { what: "a run's call", maxBytes: 4096, notJson },
    (data, request, answer) => {
      const key = (data as { runKey?: unknown } | null)?.runKey;
      if (typeof key !== 'string' || !key) return answer(400, { error: notJson });
      if (!bearerIs(request, callbackToken(secret, key)))
        return answer(401, { error: 'expected Authorization: Bearer <EDGESHIP_CALLBACK_TOKEN of this run>' });
      void nudge();
      return answer(202, { nudged: true });
    },
  );
}
