import { KubeConfig } from '@kubernetes/client-node';
import { ArgoCdApplications } from '../adapters/k8s/argocd.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import { EdgeshipError, messageOf } from '../core/errors.ts';
import type { FleetStatus } from '../ports.ts';

/**
 * Argo CD access from the app's environment: EDGESHIP_ARGOCD_KUBECONFIG (a kubeconfig file,
 * EDGESHIP_ARGOCD_CONTEXT picks a context) or EDGESHIP_ARGOCD_IN_CLUSTER=true (the pod's service
 * account), and EDGESHIP_ARGOCD_NAMESPACE (default argocd). Undefined when none is set: the app
 * then sends the first wave and later ones on `/edgeship promote`.
 */
export function fleetFromEnv(env: NodeJS.ProcessEnv = process.env): ((config: EdgeshipConfig) => FleetStatus) | undefined {
  const file = env.EDGESHIP_ARGOCD_KUBECONFIG;
  const inCluster = env.EDGESHIP_ARGOCD_IN_CLUSTER === 'true';
  if (!file && !inCluster) return undefined;
  const kubeconfig = new KubeConfig();
  try {
    if (file) kubeconfig.loadFromFile(file);
    else kubeconfig.loadFromCluster();
  } catch (error) {
    const source = file ? `EDGESHIP_ARGOCD_KUBECONFIG=${file}` : 'EDGESHIP_ARGOCD_IN_CLUSTER=true';
    throw new EdgeshipError(`${source}: expected a readable kubeconfig, found: ${messageOf(error).split('\n')[0]}`, { cause: error });
  }
  const context = env.EDGESHIP_ARGOCD_CONTEXT;
  if (context) {
    if (!kubeconfig.getContextObject(context)) {
      throw new EdgeshipError(`EDGESHIP_ARGOCD_CONTEXT: expected a context of ${file ?? 'the kubeconfig'} (${kubeconfig.getContexts().map((entry) => entry.name).join(', ')}), found "${context}"`);
    }
    kubeconfig.setCurrentContext(context);
  }
  const fleet = new ArgoCdApplications(kubeconfig, env.EDGESHIP_ARGOCD_NAMESPACE ?? 'argocd');
  return () => fleet;
}
