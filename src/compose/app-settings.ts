import { z } from 'zod';
import { UsageError } from '../core/errors.ts';
import { settingsDoc } from './settings-doc.ts';

const text = z.string().min(1);
const flag = z
  .enum(['true', 'false'])
  .optional()
  .transform((value) => value === 'true');
const whole = (minimum: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(minimum).max(Number.MAX_SAFE_INTEGER));

/**
 * Every setting the GitHub App reads from its environment, in one schema: parsed once at start
 * (src/app/server.ts), handed to the app as one typed value; the README's table is generated from
 * it (`npm run schema`). An empty variable counts as unset, as in a shell.
 */
export const appEnvironmentSchema = z.object({
  APP_ID: whole(1).optional().describe("The GitHub App's id. Required."),
  WEBHOOK_SECRET: text
    .optional()
    .describe("The secret set on the App's webhook; without it anyone could send events. Required."),
  PRIVATE_KEY: text.optional().describe("The App's private key (PEM). Required, or PRIVATE_KEY_PATH."),
  PRIVATE_KEY_PATH: text.optional().describe("A file holding the App's private key."),
  PORT: whole(0)
    .pipe(z.number().max(65_535))
    .optional()
    .describe('The port the app listens on for webhooks and probes (default 3000).'),
  EDGESHIP_POLICY_FILE: text
    .optional()
    .describe(
      'The operator policy (YAML): which GitOps repos, registries, clusters and images the app may use. Without it, none.',
    ),
  EDGESHIP_MAX_BLOB_BYTES: whole(1).optional().describe('Largest artifact blob the app reads, in bytes.'),
  EDGESHIP_REGISTRY_USERNAME: text.optional().describe('User for the registries the policy lists (default edgeship).'),
  EDGESHIP_REGISTRY_PASSWORD: text.optional().describe('Password or token for the registries the policy lists.'),
  MLFLOW_TRACKING_TOKEN: text
    .optional()
    .describe('Token for the MLflow tracking servers the policy lists (registry.mlflow).'),
  EDGESHIP_ARGOCD_KUBECONFIG: text
    .optional()
    .describe('Kubeconfig of the cluster Argo CD runs in: later waves wait for its health.'),
  EDGESHIP_ARGOCD_CONTEXT: text.optional().describe('Context of EDGESHIP_ARGOCD_KUBECONFIG.'),
  EDGESHIP_ARGOCD_IN_CLUSTER: flag.describe("true: Argo CD runs in the app's own cluster (its service account)."),
  EDGESHIP_ARGOCD_NAMESPACE: text.optional().describe('Namespace of the Argo CD Applications (default argocd).'),
  EDGESHIP_ARGOCD_WEBHOOK_TOKEN: text
    .optional()
    .describe('Bearer token of Argo CD Notifications at /api/edgeship/argocd.'),
  EDGESHIP_CLUSTERS_KUBECONFIG: text
    .optional()
    .describe('Kubeconfig with the contexts targets name (targets[].context): placement reads their live capacity.'),
  EDGESHIP_TRAINING_KUBECONFIG: text
    .optional()
    .describe('Kubeconfig of the cluster training Jobs run in (train.backend: kubernetes).'),
  EDGESHIP_TRAINING_CONTEXT: text.optional().describe('Context of EDGESHIP_TRAINING_KUBECONFIG.'),
  EDGESHIP_TRAINING_IN_CLUSTER: flag.describe("true: training Jobs run in the app's own cluster."),
  KFP_TOKEN: text.optional().describe('Token for the Kubeflow Pipelines endpoints the policy lists.'),
  KF_PIPELINES_SA_TOKEN_PATH: text
    .optional()
    .describe("The pod's Kubeflow Pipelines token file, used without KFP_TOKEN."),
  EDGESHIP_TRAINING_CALLBACK_SECRET: text
    .optional()
    .describe('Secret of the tokens cluster runs call back with at /api/edgeship/training.'),
  EDGESHIP_PUBLIC_URL: z.url().optional().describe("The app's public URL, for the callbacks of cluster runs."),
  EDGESHIP_DRIFT_SECRET: text
    .optional()
    .describe('Secret of the site tokens (edgeship site-token) drift evidence comes with at /api/edgeship/drift.'),
  EDGESHIP_GITHUB_WRITE_PACING_MS: whole(0)
    .optional()
    .describe(
      'Least time between two content-creating (or GraphQL) requests of the app, which go one at a time (default 1000, and 3000 for those that notify people, as GitHub asks; a GitHub Enterprise Server without rate limits may take 0).',
    ),
  EDGESHIP_REDELIVER_EVERY_SECONDS: whole(1)
    .optional()
    .describe(
      'How often the leader asks GitHub for the webhook deliveries that failed and has them delivered again (default 240; GitHub keeps them 3 days).',
    ),
  EDGESHIP_RESYNC_EVERY_SECONDS: whole(1)
    .optional()
    .describe(
      'How often the leader looks through every repository for work whose webhook was lost or whose replica died (default 900).',
    ),
  EDGESHIP_COMMAND_CLAIM_SECONDS: whole(1)
    .optional()
    .describe(
      "How long a replica's claim on a `/edgeship` command lasts unanswered before the claim counts as left by a replica that died, and the next resync takes the command (default 900).",
    ),
  EDGESHIP_LEASE_NAME: text
    .optional()
    .describe('The Lease replicas elect a leader on; without it the process runs the schedule alone.'),
  EDGESHIP_LEASE_KUBECONFIG: text
    .optional()
    .describe("Kubeconfig of the Lease's API server, where it is not the pod's own."),
  POD_NAME: text.optional().describe("This replica's name (downward API): the Lease's holder."),
  POD_NAMESPACE: text.optional().describe('The namespace of the Lease (downward API).'),
  POD_IP: z
    .string()
    .regex(/^[0-9a-fA-F.:]+$/, 'expected an IPv4 or IPv6 address')
    .optional()
    .describe(
      "This replica's address (downward API status.podIP): while it leads, it writes http://<POD_IP>:<PORT> on the Lease, and the other replicas hand it the sites' analysis verdicts there.",
    ),
});

export type AppSettings = ReturnType<typeof toSettings>;

function toSettings(env: z.infer<typeof appEnvironmentSchema>) {
  return {
    appId: env.APP_ID,
    webhookSecret: env.WEBHOOK_SECRET,
    privateKey: env.PRIVATE_KEY,
    privateKeyPath: env.PRIVATE_KEY_PATH,
    port: env.PORT ?? 3000,
    policyFile: env.EDGESHIP_POLICY_FILE,
    maxBlobBytes: env.EDGESHIP_MAX_BLOB_BYTES,
    registryCredentials: env.EDGESHIP_REGISTRY_PASSWORD
      ? { username: env.EDGESHIP_REGISTRY_USERNAME ?? 'edgeship', password: env.EDGESHIP_REGISTRY_PASSWORD }
      : undefined,
    mlflowToken: env.MLFLOW_TRACKING_TOKEN,
    argocd: {
      kubeconfig: env.EDGESHIP_ARGOCD_KUBECONFIG,
      context: env.EDGESHIP_ARGOCD_CONTEXT,
      inCluster: env.EDGESHIP_ARGOCD_IN_CLUSTER,
      namespace: env.EDGESHIP_ARGOCD_NAMESPACE ?? 'argocd',
      webhookToken: env.EDGESHIP_ARGOCD_WEBHOOK_TOKEN,
    },
    clustersKubeconfig: env.EDGESHIP_CLUSTERS_KUBECONFIG,
    training: {
      kubeconfig: env.EDGESHIP_TRAINING_KUBECONFIG,
      context: env.EDGESHIP_TRAINING_CONTEXT,
      inCluster: env.EDGESHIP_TRAINING_IN_CLUSTER,
      kfpToken: env.KFP_TOKEN,
      kfpTokenPath: env.KF_PIPELINES_SA_TOKEN_PATH,
      callbackSecret: env.EDGESHIP_TRAINING_CALLBACK_SECRET,
      publicUrl: env.EDGESHIP_PUBLIC_URL,
    },
    driftSecret: env.EDGESHIP_DRIFT_SECRET,
    writePacingMs: env.EDGESHIP_GITHUB_WRITE_PACING_MS,
    redeliverEveryMs:
      env.EDGESHIP_REDELIVER_EVERY_SECONDS === undefined ? undefined : env.EDGESHIP_REDELIVER_EVERY_SECONDS * 1000,
    resyncEveryMs:
      env.EDGESHIP_RESYNC_EVERY_SECONDS === undefined ? undefined : env.EDGESHIP_RESYNC_EVERY_SECONDS * 1000,
    claimExpiresMs:
      env.EDGESHIP_COMMAND_CLAIM_SECONDS === undefined ? undefined : env.EDGESHIP_COMMAND_CLAIM_SECONDS * 1000,
    lease: {
      name: env.EDGESHIP_LEASE_NAME,
      kubeconfig: env.EDGESHIP_LEASE_KUBECONFIG,
      podName: env.POD_NAME,
      namespace: env.POD_NAMESPACE,
      address: env.POD_IP && `http://${env.POD_IP.includes(':') ? `[${env.POD_IP}]` : env.POD_IP}:${env.PORT ?? 3000}`,
    },
  };
}

/** The app's settings from its environment (the process's by default); an error names each variable that is wrong, what was expected and what was found. */
export function parseAppSettings(env: Readonly<Record<string, string | undefined>> = process.env): AppSettings {
  const known = Object.fromEntries(
    Object.keys(appEnvironmentSchema.shape).flatMap((name) => (env[name] ? [[name, env[name]]] : [])),
  );
  const parsed = appEnvironmentSchema.safeParse(known);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      // Only variables with a format can be wrong, and none of them holds a secret: the value is shown.
      return `${name}: ${issue.message}, found ${JSON.stringify(known[name])}`;
    });
    throw new UsageError(
      `the app's environment is not valid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
  }
  return toSettings(parsed.data);
}

/** What the app cannot start without: its id, the webhook secret and its private key. */
export function missingStartupSettings(settings: AppSettings): string[] {
  const missing: string[] = [];
  if (!settings.appId) missing.push("APP_ID (the GitHub App's id)");
  if (!settings.webhookSecret)
    missing.push("WEBHOOK_SECRET (the secret set on the GitHub App's webhook; without it anyone could send events)");
  if (!settings.privateKey && !settings.privateKeyPath)
    missing.push("PRIVATE_KEY or PRIVATE_KEY_PATH (the GitHub App's private key)");
  return missing;
}

/** docs/app-settings.md: every setting of the app, from the schema (npm run schema writes it). */
export function appSettingsDoc(): string {
  return settingsDoc(
    'Settings of the edgeship GitHub App',
    'Generated from `src/compose/app-settings.ts` by `npm run schema`: the app reads these variables once, at start, and refuses to start naming each one that is wrong. An empty variable counts as unset.',
    appEnvironmentSchema,
  );
}
