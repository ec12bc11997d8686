import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readPolicyFile } from '../adapters/fs/policy-file.ts';
import type { AppSettings } from '../compose/app-settings.ts';
import { createNodeMiddleware, type Probot } from 'probot';
import { KubernetesCapacity } from '../adapters/k8s/cluster-capacity.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { argoCdWebhook } from './argocd-webhook.ts';
import { driftEndpoint } from './drift-endpoint.ts';
import { verdictEndpoint } from './verdict-endpoint.ts';
import { VerdictBook } from '../core/analysis.ts';
import { probes } from './probes.ts';
import { fleetFrom } from './fleet.ts';
import { edgeshipApp, type AppOptions } from './index.ts';
import { trainingCallback, trainingFrom, TRAINING_CALLBACK_PATH } from './training-clusters.ts';

export const WEBHOOKS_PATH = '/api/github/webhooks';
/** GitHub caps webhook payloads at 25 MB; anything larger is not GitHub's and is refused unread. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

/**
 * The app's HTTP server, configured from its settings (compose/app-settings.ts):
 * - GitHub webhooks at /api/github/webhooks;
 * - Argo CD access (fleet.ts) and, with EDGESHIP_ARGOCD_WEBHOOK_TOKEN, Argo CD Notifications at
 *   /api/edgeship/argocd;
 * - EDGESHIP_CLUSTERS_KUBECONFIG: the contexts targets name (targets[].context), for placement;
 * - training clusters (training-clusters.ts) and, with EDGESHIP_PUBLIC_URL and
 *   EDGESHIP_TRAINING_CALLBACK_SECRET, run callbacks at /api/edgeship/training.
 * - EDGESHIP_POLICY_FILE: the operator policy (core/policy.ts);
 * - EDGESHIP_DRIFT_SECRET: drift evidence from edge sites at /api/edgeship/drift, and their
 *   analysis verdicts at /api/edgeship/verdicts, each with its site token (`edgeship site-token`).
 * - /healthz (liveness) and /readyz (readiness: the app can reach GitHub with its key).
 * Webhook bodies over 25 MiB, or without a length, are refused before a byte of them is read;
 * slow headers and bodies time out. `extra` lets tests set the loops' intervals.
 */
export async function appServer(probot: Probot, settings: AppSettings, extra: AppOptions = {}): Promise<Server> {
  const policy = readPolicyFile(settings.policyFile);
  const fleetFor = fleetFrom(settings.argocd);
  const clusters = settings.clustersKubeconfig;
  const capacity = clusters
    ? new KubernetesCapacity(
        loadKubeconfig({ file: clusters, names: { file: 'EDGESHIP_CLUSTERS_KUBECONFIG', context: '-' } }),
      )
    : undefined;

  let nudgeRollouts: () => Promise<number> = async () => 0;
  let followTrainings: () => Promise<number> = async () => 0;
  const argocd = settings.argocd.webhookToken
    ? argoCdWebhook(settings.argocd.webhookToken, () => nudgeRollouts())
    : undefined;
  let receiveDrift: Parameters<NonNullable<AppOptions['onDriftEvidence']>>[0] = async () => undefined;
  const drift = settings.driftSecret
    ? driftEndpoint(settings.driftSecret, (repo, evidence) => receiveDrift(repo, evidence))
    : undefined;
  // Sites' analysis verdicts come with the same site tokens as their drift evidence.
  const verdicts = settings.driftSecret ? new VerdictBook() : undefined;
  const verdict =
    settings.driftSecret && verdicts ? verdictEndpoint(settings.driftSecret, verdicts, extra.leadership) : undefined;
  const secret = settings.training.callbackSecret;
  const callback = secret ? trainingCallback(secret, () => followTrainings()) : undefined;
  const callbackUrl =
    secret && settings.training.publicUrl
      ? `${settings.training.publicUrl.replace(/\/+$/, '')}${TRAINING_CALLBACK_PATH}`
      : undefined;

  const app = edgeshipApp({
    onNudge: (nudge) => (nudgeRollouts = nudge),
    onTrainingNudge: (nudge) => (followTrainings = nudge),
    onDriftEvidence: (receive) => (receiveDrift = receive),
    policy,
    ...(settings.appId && { appId: settings.appId }),
    ...(settings.registryCredentials && { credentials: settings.registryCredentials }),
    ...(settings.maxBlobBytes && { maxBlobBytes: settings.maxBlobBytes }),
    ...(settings.mlflowToken && { mlflowToken: settings.mlflowToken }),
    ...(settings.redeliverEveryMs && { redeliverEveryMs: settings.redeliverEveryMs }),
    ...(settings.resyncEveryMs && { resyncEveryMs: settings.resyncEveryMs }),
    ...(settings.claimExpiresMs && { claimExpiresMs: settings.claimExpiresMs }),
    trainingFor: trainingFrom(settings.training, () => void followTrainings(), policy, probot.log),
    ...(secret && callbackUrl && { trainingCallback: { url: callbackUrl, secret } }),
    ...(fleetFor && { fleetFor }),
    ...(capacity && { capacity }),
    ...(verdicts && { verdicts }),
    ...extra,
  });
  const middleware = await createNodeMiddleware(app, { probot, webhooksPath: WEBHOOKS_PATH });
  // Readiness: the app's own key lists one installation (a JWT call, no installation token).
  const probe = probes(async () => (await probot.auth()).rest.apps.listInstallations({ per_page: 1 }));
  const server = createServer((request, response) => {
    if (
      refuseLargeWebhook(request, response) ||
      probe(request, response) ||
      argocd?.(request, response) ||
      callback?.(request, response) ||
      drift?.(request, response) ||
      verdict?.(request, response)
    )
      return;
    void middleware(request, response, () => {
      response.writeHead(404).end();
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

/** Answers 411 or 413 for a webhook body that has no length or is larger than GitHub sends, and closes the connection unread. */
function refuseLargeWebhook(request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== 'POST' || new URL(request.url ?? '/', 'http://localhost').pathname !== WEBHOOKS_PATH)
    return false;
  const length = request.headers['content-length'];
  const status = length === undefined ? 411 : Number(length) > MAX_WEBHOOK_BYTES ? 413 : undefined;
  if (status === undefined) return false;
  const error =
    status === 411 ? 'a webhook needs a Content-Length' : `a webhook body may be at most ${MAX_WEBHOOK_BYTES} bytes`;
  response
    .writeHead(status, { 'content-type': 'application/json', connection: 'close' })
    .end(JSON.stringify({ error }), () => request.destroy());
  return true;
}
