import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { TargetState } from '../../core/rollout.ts';

/** The parts of an argoproj.io/v1alpha1 Application's status the rollout reads. */
interface ApplicationStatus {
  sync?: { status?: string };
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
export class ArgoCdApplications {
  private readonly api: CustomObjectsApi;

  constructor(
    kubeconfig: KubeConfig,
    private readonly namespace = 'argocd',
  ) {
    this.api = kubeconfig.makeApiClient(CustomObjectsApi);
  }

  /** Sync and health of each target; `versions` are what the GitOps repo has for them. */
  async states(targets: string[], versions: ReadonlyMap<string, string>): Promise<Map<string, TargetState>> {
    const entries = await Promise.all(targets.map(async (target) => [target, await this.state(target, versions.get(target))] as const));
    return new Map(entries);
  }

  private async state(target: string, version: string | undefined): Promise<TargetState> {
    const base = { target, ...(version && { version }) };
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
      return { ...base, sync: 'Unknown', health: code === 404 ? 'Missing' : 'Unknown' };
    }
    const sync = SYNC.has(status.sync?.status ?? '') ? (status.sync?.status as TargetState['sync']) : 'Unknown';
    const health = HEALTH.has(status.health?.status ?? '') ? (status.health?.status as TargetState['health']) : 'Unknown';
    const syncFailed = status.operationState?.phase === 'Failed' || status.operationState?.phase === 'Error';
    const since = Date.parse(status.health?.lastTransitionTime ?? status.operationState?.finishedAt ?? '');
    return {
      ...base,
      sync,
      health,
      ...(syncFailed && { syncFailed }),
      ...(sync === 'Synced' && health === 'Healthy' && !Number.isNaN(since) && { healthySince: since }),
    };
  }
}
