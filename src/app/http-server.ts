import { createServer, type Server } from 'node:http';
import { createNodeMiddleware, type Probot } from 'probot';
import { KubernetesCapacity } from '../adapters/k8s/cluster-capacity.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { argoCdWebhook } from './argocd-webhook.ts';
import { fleetFromEnv } from './fleet.ts';
import { edgeshipApp, type AppOptions } from './index.ts';
import { trainingCallback, trainingFromEnv, TRAINING_CALLBACK_PATH } from './training.ts';

export const WEBHOOKS_PATH = '/api/github/webhooks';

/**
 * The app's HTTP server, configured from the environment:
 * - GitHub webhooks at /api/github/webhooks;
 * - Argo CD access (fleet.ts) and, with EDGESHIP_ARGOCD_WEBHOOK_TOKEN, Argo CD Notifications at
 *   /api/edgeship/argocd;
 * - EDGESHIP_CLUSTERS_KUBECONFIG: the contexts targets name (targets[].context), for placement;
 * - training clusters (training.ts) and, with EDGESHIP_PUBLIC_URL and
 *   EDGESHIP_TRAINING_CALLBACK_SECRET, run callbacks at /api/edgeship/training.
 * `extra` lets tests set the loops' intervals.
 */
export async function appServer(probot: Probot, env: NodeJS.ProcessEnv, extra: AppOptions = {}): Promise<Server> {
  const fleetFor = fleetFromEnv(env);
  const clusters = env.EDGESHIP_CLUSTERS_KUBECONFIG;
  const capacity = clusters ? new KubernetesCapacity(loadKubeconfig({ file: clusters, names: { file: 'EDGESHIP_CLUSTERS_KUBECONFIG', context: '-' } })) : undefined;

  let nudgeRollouts: () => Promise<number> = async () => 0;
  let followTrainings: () => Promise<number> = async () => 0;
  const argocd = env.EDGESHIP_ARGOCD_WEBHOOK_TOKEN ? argoCdWebhook(env.EDGESHIP_ARGOCD_WEBHOOK_TOKEN, () => nudgeRollouts()) : undefined;
  const secret = env.EDGESHIP_TRAINING_CALLBACK_SECRET;
  const callback = secret ? trainingCallback(secret, () => followTrainings()) : undefined;
  const callbackUrl = secret && env.EDGESHIP_PUBLIC_URL ? `${env.EDGESHIP_PUBLIC_URL.replace(/\/+$/, '')}${TRAINING_CALLBACK_PATH}` : undefined;

  const app = edgeshipApp({
    onNudge: (nudge) => (nudgeRollouts = nudge),
    onTrainingNudge: (nudge) => (followTrainings = nudge),
    trainingFor: trainingFromEnv(env, () => void followTrainings()),
    ...(secret && callbackUrl && { trainingCallback: { url: callbackUrl, secret } }),
    ...(fleetFor && { fleetFor }),
    ...(capacity && { capacity }),
    ...extra,
  });
  const middleware = await createNodeMiddleware(app, { probot, webhooksPath: WEBHOOKS_PATH });
  return createServer((request, response) => {
    if (argocd?.(request, response) || callback?.(request, response)) return;
    void middleware(request, response, () => {
      response.writeHead(404).end();
    });
  });
}
