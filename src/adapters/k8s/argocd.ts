import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { FleetState, FleetStatus } from '../../ports.ts';

/** The parts of an argoproj.io/v1alpha1 Application's status the rollout reads. */
interface ApplicationStatus {
  sync?: { status?: string; revision?: string };
  health?: { status?: string; lastTransitionTime?: string };
  operationState?: { phase?: string; finishedAt?: string };
}

const SYNC = new Set(['Synced', 'OutOfSync']);
const HEALTH = new Set(['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing']);

/** The Application the templates' ApplicationSet creates for a target. */
export const applicationName = (target: string) => `edgeship-${target}`;

/**
 * Reads the Argo CD Applications of the targets from the cluster Argo CD runs in. A missing
 * Application is Missing; a cluster that does not answer leaves the target Unknown, which the
 * rollout treats as not ready, never as failed.
 */
export class ArgoCdApplications implements FleetStatus {
  private readonly api: CustomObjectsApi;

  constructor(
    kubeconfig: KubeConfig,
    private readonly namespace = 'argocd',
  ) {
    this.api = kubeconfig.makeApiClient(CustomObjectsApi);
  }

  async states(targets: string[]): Promise<Map<string, FleetState>> {
    const entries = await Promise.all(targets.map(async (target) => [target, await this.state(target)] as const));
    return new Map(entries);
  }

  private async state(target: string): Promise<FleetState> {
    let status: ApplicationStatus;
    try {
      const application = (await this.api.getNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: this.namespace,
        plural: 'applications',
        name: applicationName(target),
      })) as { status?: ApplicationStatus };
      status = application.status ?? {};
    } catch (error) {
      const code = (error as { code?: number }).code;
      return { sync: 'Unknown', health: code === 404 ? 'Missing' : 'Unknown' };
    }
    const sync = SYNC.has(status.sync?.status ?? '') ? (status.sync?.status as FleetState['sync']) : 'Unknown';
    const health = HEALTH.has(status.health?.status ?? '') ? (status.health?.status as FleetState['health']) : 'Unknown';
    const syncFailed = status.operationState?.phase === 'Failed' || status.operationState?.phase === 'Error';
    // Healthy since the later of the health transition and the last sync: an Application that
    // stayed Healthy through a sync has been Healthy with the new release only since the sync.
    const times = [status.health?.lastTransitionTime, status.operationState?.finishedAt].map((time) => Date.parse(time ?? '')).filter((time) => !Number.isNaN(time));
    return {
      sync,
      health,
      ...(status.sync?.revision && { revision: status.sync.revision }),
      ...(syncFailed && { syncFailed }),
      ...(sync === 'Synced' && health === 'Healthy' && times.length > 0 && { healthySince: Math.max(...times) }),
    };
  }
}
