import { createNodeMiddleware, createProbot } from 'probot';
import { createServer } from 'node:http';
import { KubernetesCapacity } from '../adapters/k8s/cluster-capacity.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
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
const middleware = await createNodeMiddleware(edgeshipApp({ ...(fleetFor && { fleetFor }), ...(capacity && { capacity }) }), { probot, webhooksPath: '/api/github/webhooks' });
const port = Number(process.env.PORT ?? 3000);
createServer((request, response) => {
  void middleware(request, response, () => {
    response.writeHead(404).end();
  });
}).listen(port, () => probot.log.info({ port }, 'edgeship listening for webhooks on /api/github/webhooks'));
