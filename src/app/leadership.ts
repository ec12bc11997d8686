import { hostname } from 'node:os';
import { LeaderElector } from '../adapters/k8s/leader-election.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { ConfigMapRollouts } from '../adapters/k8s/shared-rollouts.ts';
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../ports.ts';
import type { AppSettings } from '../compose/app-settings.ts';

/**
 * What replicas of the app share, from the settings the Deployment in templates/app sets:
 * EDGESHIP_LEASE_NAME (the Lease they elect a leader on), POD_NAMESPACE, POD_NAME and POD_IP (from
 * the downward API; the leader writes `http://<POD_IP>:<PORT>` on the Lease, where followers hand
 * it the sites' analysis verdicts), and EDGESHIP_LEASE_KUBECONFIG where the API is not the pod's own (tests); beside
 * the Lease, the ConfigMap `edgeship-rollouts`, where each replica records the rollouts it started.
 * Without EDGESHIP_LEASE_NAME the process runs alone: the local loop, one container.
 */
export function replicationFrom(
  lease: AppSettings['lease'],
  log: Logger,
): { elector: LeaderElector; rollouts: ConfigMapRollouts } | undefined {
  const { name, namespace } = lease;
  if (!name) return undefined;
  if (!namespace)
    throw new UsageError(
      "EDGESHIP_LEASE_NAME: expected the namespace of the Lease in POD_NAMESPACE (the downward API's metadata.namespace), found none",
    );
  const kubeconfig = loadKubeconfig({
    ...(lease.kubeconfig && { file: lease.kubeconfig }),
    names: { file: 'EDGESHIP_LEASE_KUBECONFIG', context: '-' },
  });
  return {
    elector: new LeaderElector({
      kubeconfig,
      namespace,
      name,
      identity: lease.podName ?? hostname(),
      ...(lease.address && { address: lease.address }),
      log,
    }),
    rollouts: new ConfigMapRollouts(kubeconfig, namespace),
  };
}
