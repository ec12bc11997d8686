import { CoreV1Api, KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { quantityToScalar } from '@kubernetes/client-node/dist/util.js';
import { messageOf } from '../../core/errors.ts';
import type { Target } from '../../core/config.ts';
import type { LiveCapacity } from '../../core/placement.ts';
import type { ClusterCapacity } from '../../ports.ts';

const MIB = 2 ** 20;
/** Node labels that say what accelerators a node has (NVIDIA device plugin and Jetson labels). */
const ACCELERATOR_LABELS = ['nvidia.com/gpu.product', 'nvidia.com/device-plugin.config', 'nvidia.com/jetson.module'];

const bytes = (quantity: string | undefined) => (quantity ? Number(quantityToScalar(quantity)) : 0);

/**
 * Reads what each target's edge cluster has room for, through the kubeconfig context the
 * target names (`targets[].context`): schedulable nodes, their allocatable memory minus what
 * the pods on them request, their architectures and accelerators. A cluster that does not
 * answer falls back to the inventory, and says why.
 */
export class KubernetesCapacity implements ClusterCapacity {
  constructor(private readonly kubeconfig: KubeConfig) {}

  async capacity(targets: Target[]): Promise<Map<string, LiveCapacity>> {
    const entries = await Promise.all(
      targets
        .filter((target) => target.kind === 'edge' && target.context)
        .map(async (target) => [target.name, await this.read(target.context as string)] as const),
    );
    return new Map(entries);
  }

  private async read(context: string): Promise<LiveCapacity> {
    if (!this.kubeconfig.getContextObject(context))
      return { source: 'inventory', reason: `no kubeconfig context "${context}"` };
    const config = new KubeConfig();
    config.loadFromString(this.kubeconfig.exportConfig());
    config.setCurrentContext(context);
    const api = config.makeApiClient(CoreV1Api);
    let nodes: V1Node[];
    let pods: V1Pod[];
    try {
      [nodes, pods] = await Promise.all([
        api.listNode().then((list) => list.items),
        api
          .listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })
          .then((list) => list.items),
      ]);
    } catch (error) {
      return { source: 'inventory', reason: `cluster ${context} did not answer: ${messageOf(error).split('\n')[0]}` };
    }
    const usable = nodes.filter(
      (node) =>
        !node.spec?.unschedulable &&
        node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    const requested = new Map<string, number>();
    for (const pod of pods) {
      const node = pod.spec?.nodeName;
      if (!node) continue;
      const memory = (pod.spec?.containers ?? []).reduce(
        (sum, container) => sum + bytes(container.resources?.requests?.memory),
        0,
      );
      requested.set(node, (requested.get(node) ?? 0) + memory);
    }
    const free = usable.map(
      (node) => bytes(node.status?.allocatable?.memory) - (requested.get(node.metadata?.name ?? '') ?? 0),
    );
    const arches = [
      ...new Set(
        usable.map(
          (node) => node.metadata?.labels?.['kubernetes.io/arch'] ?? node.status?.nodeInfo?.architecture ?? 'unknown',
        ),
      ),
    ].sort();
    const accelerators = [
      ...new Set(
        usable.flatMap((node) => {
          const gpus = bytes(node.status?.allocatable?.['nvidia.com/gpu']);
          const labels = ACCELERATOR_LABELS.map((label) => node.metadata?.labels?.[label]).filter(
            (value): value is string => Boolean(value),
          );
          return [...(gpus > 0 ? [`nvidia.com/gpu×${gpus}`] : []), ...labels];
        }),
      ),
    ].sort();
    return { source: 'cluster', nodes: usable.length, freeMemoryMb: Math.max(0, ...free) / MIB, arches, accelerators };
  }
}
