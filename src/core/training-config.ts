import { z } from 'zod';
import { dnsLabel } from './formats.ts';

/** A Kubernetes resource quantity, e.g. `500m`, `4`, `16Gi`. */
const quantity = z
  .union([z.string(), z.number().positive()])
  .transform(String)
  .refine((value) => /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e\d+)?$/.test(value), {
    error: (issue) => `expected a Kubernetes quantity such as 500m, 4 or 16Gi, found ${JSON.stringify(issue.input)}`,
  });

/** A DNS subdomain: names of secrets and service accounts. */
const dnsSubdomain = z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, {
  error: (issue) =>
    `expected a Kubernetes object name (lowercase letters, digits, '-' and '.'), found ${JSON.stringify(issue.input)}`,
});

const toleration = z.strictObject({
  key: z.string().min(1).optional(),
  operator: z.enum(['Exists', 'Equal']).default('Equal'),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().nonnegative().optional(),
});

/** `train.kubernetes`: the Job the app creates in the cloud cluster. */
export const kubernetesTrainingSchema = z
  .strictObject({
    namespace: dnsLabel.describe('Namespace the training Jobs run in.'),
    image: z.string().min(1).describe('Image with the training dependencies and the edgeship CLI.'),
    command: z
      .array(z.string().min(1))
      .min(1)
      .default(['edgeship', 'cloud-run'])
      .describe('Container command; `edgeship cloud-run` trains, evaluates, publishes and stores the report.'),
    serviceAccount: dnsSubdomain.optional().describe('Service account of the training pod.'),
    resources: z
      .strictObject({
        cpu: quantity.optional(),
        memory: quantity.optional(),
        gpu: z.number().int().nonnegative().default(0).describe('`nvidia.com/gpu` the pod asks for.'),
      })
      .prefault({}),
    nodeSelector: z.record(z.string().min(1), z.string()).default({}),
    tolerations: z.array(toleration).default([]),
    secrets: z
      .array(dnsSubdomain)
      .default([])
      .describe(
        "Secrets whose keys become the container's environment, e.g. EDGESHIP_GIT_TOKEN and EDGESHIP_REGISTRY_PASSWORD.",
      ),
    imagePullSecrets: z.array(dnsSubdomain).default([]),
    ttlSecondsAfterFinished: z
      .number()
      .int()
      .nonnegative()
      .default(86_400)
      .describe('Seconds a finished Job is kept for its logs.'),
    logsUrl: z
      .string()
      .min(1)
      .optional()
      .describe('Link to the logs in the check run; `{namespace}` and `{job}` are filled in.'),
  })
  .describe('Kubernetes Job backend (train.backend: kubernetes).');

/** `train.kubeflow`: the pipeline the app starts a run of. */
export const kubeflowTrainingSchema = z
  .strictObject({
    endpoint: z
      .url()
      .describe(
        'The KFP API, e.g. http://ml-pipeline.kubeflow:8888; its token comes from KFP_TOKEN or the service account where the app runs.',
      ),
    pipelineId: z.string().min(1),
    pipelineVersionId: z
      .string()
      .min(1)
      .optional()
      .describe('A pinned pipeline version; the newest version otherwise.'),
    experimentId: z.string().min(1).optional(),
    namespace: dnsLabel.optional().describe('Profile namespace in multi-user Kubeflow.'),
    serviceAccount: dnsSubdomain.optional(),
    parameters: z
      .record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))
      .default({})
      .describe('More pipeline parameters; sha, run_key, repo_url, branch, reason and context are always passed.'),
    runUrl: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Link to a run in the check run; `{run}` is filled in. The endpoint's #/runs/details/{run} by default.",
      ),
  })
  .describe('Kubeflow Pipelines v2 backend (train.backend: kubeflow).');

export type KubernetesTraining = z.infer<typeof kubernetesTrainingSchema>;
export type KubeflowTraining = z.infer<typeof kubeflowTrainingSchema>;
