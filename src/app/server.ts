import { createNodeMiddleware, createProbot } from 'probot';
import { createServer } from 'node:http';
import { KubernetesCapacity } from '../adapters/k8s/cluster-capacity.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { argoCdWebhook } from './argocd-webhook.ts';
import { fleetFromEnv } from './fleet.ts';
import { edgeshipApp } from './index.ts';
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
const middleware = await createNodeMiddleware(edgeshipApp({ onNudge, ...(fleetFor && { fleetFor }), ...(capacity && { capacity }) }), { probot, webhooksPath: '/api/github/webhooks' });
const port = Number(process.env.PORT ?? 3000);
createServer((request, response) => {
  if (argocd?.(request, response)) return;
  void middleware(request, response, () => {
    response.writeHead(404).end();
  });
}).listen(port, () => probot.log.info({ port }, 'edgeship listening for webhooks on /api/github/webhooks'));
