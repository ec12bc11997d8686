import { createNodeMiddleware, createProbot } from 'probot';
import { createServer } from 'node:http';
import { KubernetesCapacity } from '../adapters/k8s/cluster-capacity.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { argoCdWebhook } from './argocd-webhook.ts';
import { fleetFromEnv } from './fleet.ts';
import { edgeshipApp } from './index.ts';
import { trainingCallback, trainingFromEnv, TRAINING_CALLBACK_PATH } from './training.ts';
import { EdgeshipOctokit } from './octokit.ts';

/**
 * `npm start`: the app's webhook server. Reads APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH),
 * WEBHOOK_SECRET and PORT (default 3000) from the environment, and Argo CD access (see fleet.ts).
 */
const probot = createProbot({ overrides: { Octokit: EdgeshipOctokit } });
const fleetFor = fleetFromEnv();
// EDGESHIP_CLUSTERS_KUBECONFIG: the contexts targets name (targets[].context), for live placement.
const clusters = process.env.EDGESHIP_CLUSTERS_KUBECONFIG;
const capacity = clusters ? new KubernetesCapacity(loadKubeconfig({ file: clusters, names: { file: 'EDGESHIP_CLUSTERS_KUBECONFIG', context: '-' } })) : undefined;
// EDGESHIP_ARGOCD_WEBHOOK_TOKEN: Argo CD Notifications may POST to /api/edgeship/argocd with it.
const webhookToken = process.env.EDGESHIP_ARGOCD_WEBHOOK_TOKEN;
let argocd: ReturnType<typeof argoCdWebhook> | undefined;
const onNudge = (nudge: () => Promise<number>) => {
  if (webhookToken) argocd = argoCdWebhook(webhookToken, nudge);
};
// Training on a cluster (see training.ts). EDGESHIP_PUBLIC_URL and EDGESHIP_TRAINING_CALLBACK_SECRET
// let runs call back when they finish, at /api/edgeship/training, with a token for that run only.
let followTrainings: () => Promise<number> = async () => 0;
const trainingFor = trainingFromEnv(process.env, () => void followTrainings());
const callbackSecret = process.env.EDGESHIP_TRAINING_CALLBACK_SECRET;
const publicUrl = process.env.EDGESHIP_PUBLIC_URL;
const trainingCallbackOptions = callbackSecret && publicUrl ? { url: `${publicUrl.replace(/\/+$/, '')}${TRAINING_CALLBACK_PATH}`, secret: callbackSecret } : undefined;
const onTrainingNudge = (nudge: () => Promise<number>) => {
  followTrainings = nudge;
};
const callback = callbackSecret ? trainingCallback(callbackSecret, () => followTrainings()) : undefined;
const app = edgeshipApp({ onNudge, onTrainingNudge, trainingFor, ...(trainingCallbackOptions && { trainingCallback: trainingCallbackOptions }), ...(fleetFor && { fleetFor }), ...(capacity && { capacity }) });
const middleware = await createNodeMiddleware(app, { probot, webhooksPath: '/api/github/webhooks' });
const port = Number(process.env.PORT ?? 3000);
createServer((request, response) => {
  if (argocd?.(request, response) || callback?.(request, response)) return;
  void middleware(request, response, () => {
    response.writeHead(404).end();
  });
}).listen(port, () => probot.log.info({ port }, 'edgeship listening for webhooks on /api/github/webhooks'));
