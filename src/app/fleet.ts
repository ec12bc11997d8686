import { ArgoCdApplications } from '../adapters/k8s/argocd.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { FleetStatus } from '../ports.ts';

/**
 * Argo CD access from the app's environment: EDGESHIP_ARGOCD_KUBECONFIG (a kubeconfig file,
 * EDGESHIP_ARGOCD_CONTEXT picks a context) or EDGESHIP_ARGOCD_IN_CLUSTER=true (the pod's service
 * account), and EDGESHIP_ARGOCD_NAMESPACE (default argocd). Undefined when none is set: the app
 * then sends the first wave and later ones on `/edgeship promote`.
 */
export function fleetFromEnv(env: NodeJS.ProcessEnv = process.env): ((config: EdgeshipConfig) => FleetStatus) | undefined {
  const file = env.EDGESHIP_ARGOCD_KUBECONFIG;
  if (!file && env.EDGESHIP_ARGOCD_IN_CLUSTER !== 'true') return undefined;
  const kubeconfig = loadKubeconfig({
    ...(file && { file }),
    ...(env.EDGESHIP_ARGOCD_CONTEXT && { context: env.EDGESHIP_ARGOCD_CONTEXT }),
    names: { file: 'EDGESHIP_ARGOCD_KUBECONFIG', context: 'EDGESHIP_ARGOCD_CONTEXT' },
  });
  const fleet = new ArgoCdApplications(kubeconfig, env.EDGESHIP_ARGOCD_NAMESPACE ?? 'argocd');
  return () => fleet;
}
