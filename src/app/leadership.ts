import { hostname } from 'node:os';
import { LeaderElector } from '../adapters/k8s/leader-election.ts';
import { loadKubeconfig } from '../adapters/k8s/kubeconfig.ts';
import { UsageError } from '../core/errors.ts';
import type { Logger } from '../ports.ts';

/**
 * Leader election for replicas of the app, from the environment the Deployment in templates/app
 * sets: EDGESHIP_LEASE_NAME (the Lease the replicas share), POD_NAMESPACE and POD_NAME (from the
 * downward API), and EDGESHIP_LEASE_KUBECONFIG where the API is not the pod's own (tests).
 * Without EDGESHIP_LEASE_NAME the process runs alone: the local loop, one container.
 */
export function leaderElectorFromEnv(env: NodeJS.ProcessEnv, log: Logger): LeaderElector | undefined {
  const name = env.EDGESHIP_LEASE_NAME;
  if (!name) return undefined;
  const namespace = env.POD_NAMESPACE;
  if (!namespace) throw new UsageError('EDGESHIP_LEASE_NAME: expected the namespace of the Lease in POD_NAMESPACE (the downward API\'s metadata.namespace), found none');
  const kubeconfig = loadKubeconfig({ ...(env.EDGESHIP_LEASE_KUBECONFIG && { file: env.EDGESHIP_LEASE_KUBECONFIG }), names: { file: 'EDGESHIP_LEASE_KUBECONFIG', context: '-' } });
  return new LeaderElector({ kubeconfig, namespace, name, identity: env.POD_NAME || hostname(), log });
}
