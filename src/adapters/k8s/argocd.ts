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

/** The label every edgeship Application carries (the edge ApplicationSet's template and the cloud Application). */
export const SITE_LABEL = 'edgeship.io/site';

/**
 * Reads the Argo CD Applications of the targets from the cluster Argo CD runs in: one list of
 * the Applications with the site label per call, whatever the fleet's size (continued only if
 * the API server pages it), not one request per target. A missing Application is Missing; a
 * cluster that does not answer leaves the targets Unknown, which the rollout treats as not
 * ready, never as failed.
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
    const applications = await this.list().catch(() => undefined);
    return new Map(
      targets.map((target) => {
        if (!applications) return [target, { sync: 'Unknown', health: 'Unknown' }] as const;
        const status = applications.get(applicationName(target));
        return [target, status ? stateOf(status) : { sync: 'Unknown', health: 'Missing' }] as const;
      }),
    );
  }

  /** Each labelled Application's status, by name. */
  private async list(): Promise<Map<string, ApplicationStatus>> {
    const statuses = new Map<string, ApplicationStatus>();
    let next: string | undefined;
    do {
      const page = (await this.api.listNamespacedCustomObject({
        group: 'argoproj.io',
        version: 'v1alpha1',
        namespace: this.namespace,
        plural: 'applications',
        labelSelector: SITE_LABEL,
        ...(next && { _continue: next }),
      })) as {
        items?: { metadata?: { name?: string }; status?: ApplicationStatus }[];
        metadata?: { continue?: string };
      };
      for (const item of page.items ?? []) if (item.metadata?.name) statuses.set(item.metadata.name, item.status ?? {});
      next = page.metadata?.continue || undefined;
    } while (next);
    return statuses;
  }
}

function stateOf(status: ApplicationStatus): FleetState {
  const sync = SYNC.has(status.sync?.status ?? '') ? (status.sync?.status as FleetState['sync']) : 'Unknown';
  const health = HEALTH.has(status.health?.status ?? '') ? (status.health?.status as FleetState['health']) : 'Unknown';
  const syncFailed = status.operationState?.phase === 'Failed' || status.operationState?.phase === 'Error';
  // Healthy since the later of the health transition and the last sync: an Application that
  // stayed Healthy through a sync has been Healthy with the new release only since the sync.
  const times = [status.health?.lastTransitionTime, status.operationState?.finishedAt]
    .map((time) => Date.parse(time ?? ''))
    .filter((time) => !Number.isNaN(time));
  return {
    sync,
    health,
    ...(status.sync?.revision && { revision: status.sync.revision }),
    ...(syncFailed && { syncFailed }),
    ...(sync === 'Synced' && health === 'Healthy' && times.length > 0 && { healthySince: Math.max(...times) }),
  };
}
