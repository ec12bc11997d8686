import { ArgoCdApplications } from '../adapters/k8s/argocd.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { FleetStatus } from '../ports.ts';
import type { AppSettings } from '../compose/app-settings.ts';

/**
 * Argo CD access from the app's settings: EDGESHIP_ARGOCD_KUBECONFIG (a kubeconfig file,
 * EDGESHIP_ARGOCD_CONTEXT picks a context) or EDGESHIP_ARGOCD_IN_CLUSTER=true (the pod's service
 * account), and EDGESHIP_ARGOCD_NAMESPACE (default argocd). Undefined when none is set: the app
 * then sends the first wave and later ones on `/edgeship promote`.
 */
export function fleetFrom(argocd: AppSettings['argocd']): ((config: EdgeshipConfig) => FleetStatus) | undefined {
  const file = argocd.kubeconfig;
  if (!file && !argocd.inCluster) return undefined;
  const kubeconfig = loadKubeconfig({
    ...(file && { file }),
    ...(argocd.context && { context: argocd.context }),
    names: { file: 'EDGESHIP_ARGOCD_KUBECONFIG', context: 'EDGESHIP_ARGOCD_CONTEXT' },
  });
  const fleet = new ArgoCdApplications(kubeconfig, argocd.namespace);
  return () => fleet;
}
