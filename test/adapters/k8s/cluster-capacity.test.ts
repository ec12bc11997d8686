import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Node } from 'kubernetes-models/v1/Node';
import { Pod } from 'kubernetes-models/v1/Pod';
import { describe, expect, it } from 'vitest';
import { KubernetesCapacity } from '../../../src/adapters/k8s/cluster-capacity.ts';
import { testConfig } from '../../helpers/fixtures.ts';
import { freePort } from '../../helpers/registry.ts';

function node(
  name: string,
  arch: string,
  memory: string,
  options: { ready?: boolean; gpus?: string; jetson?: string } = {},
) {
  const value = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/arch': arch, ...(options.jetson && { 'nvidia.com/jetson.module': options.jetson }) },
    },
    status: {
      allocatable: { memory, cpu: '6', ...(options.gpus && { 'nvidia.com/gpu': options.gpus }) },
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
      nodeInfo: {
        architecture: arch,
        bootID: 'b',
        containerRuntimeVersion: 'containerd://1.7',
        kernelVersion: '5.15',
        kubeProxyVersion: 'v1.30',
        kubeletVersion: 'v1.30',
        machineID: 'm',
        operatingSystem: 'linux',
        osImage: 'Ubuntu',
        systemUUID: 'u',
      },
    },
  };
  new Node(value).validate();
  return value;
}

function pod(name: string, nodeName: string, memory: string) {
  const value = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'edgeship' },
    spec: {
      nodeName,
      containers: [
        { name: 'server', image: 'ghcr.io/edgeship/edgeship-serving:1', resources: { requests: { memory } } },
      ],
    },
    status: { phase: 'Running' as const },
  };
  new Pod(value).validate();
  return value;
}

/** A loopback Kubernetes API serving real-shaped NodeList and PodList objects. */
async function cluster(nodes: object[], pods: object[]) {
  const seen: string[] = [];
  const server = createServer((request, response) => {
    seen.push(decodeURIComponent(request.url ?? ''));
    const path = new URL(request.url ?? '/', 'http://k8s').pathname;
    const items = path === '/api/v1/nodes' ? nodes : path === '/api/v1/pods' ? pods : undefined;
    response
      .writeHead(items ? 200 : 404, { 'content-type': 'application/json' })
      .end(
        JSON.stringify(
          items
            ? { apiVersion: 'v1', kind: path.endsWith('nodes') ? 'NodeList' : 'PodList', metadata: {}, items }
            : { kind: 'Status', code: 404 },
        ),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function kubeconfig(contexts: Record<string, string>): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: Object.entries(contexts).map(([name, server]) => ({ name, server, skipTLSVerify: true })),
    users: [{ name: 'edgeship', token: 't' }],
    contexts: Object.keys(contexts).map((name) => ({ name, cluster: name, user: 'edgeship' })),
    currentContext: Object.keys(contexts)[0] ?? '',
  });
  return config;
}

describe('KubernetesCapacity', () => {
  it("reads free memory, architectures and accelerators of each target's cluster, and falls back when one does not answer", async () => {
    const near = await cluster(
      [
        node('jetson-1', 'arm64', '7680Mi', { gpus: '1', jetson: 'NVIDIA Jetson Xavier NX' }),
        node('jetson-2', 'arm64', '4Gi'),
        node('broken', 'arm64', '64Gi', { ready: false }),
      ],
      [pod('a', 'jetson-1', '7Gi'), pod('b', 'jetson-2', '1Gi'), pod('c', 'jetson-2', '512Mi')],
    );
    try {
      const config = testConfig().targets.map((target) =>
        target.name === 'near'
          ? { ...target, context: 'near' }
          : target.name === 'far'
            ? { ...target, context: 'far' }
            : target,
      );
      const capacity = new KubernetesCapacity(
        kubeconfig({ near: near.url, far: `http://127.0.0.1:${await freePort()}` }),
      );
      const live = await capacity.capacity(config);
      expect(live.get('near')).toEqual({
        source: 'cluster',
        nodes: 2,
        freeMemoryMb: 2560,
        arches: ['arm64'],
        accelerators: ['NVIDIA Jetson Xavier NX', 'nvidia.com/gpu×1'],
      });
      expect(live.get('far')).toMatchObject({
        source: 'inventory',
        reason: expect.stringMatching(/^cluster far did not answer: /) as string,
      });
      expect(live.has('cloud')).toBe(false);
      expect(near.seen).toContain('/api/v1/pods?fieldSelector=status.phase!=Succeeded,status.phase!=Failed');
    } finally {
      await near.stop();
    }
  });

  it('names a context the kubeconfig does not have', async () => {
    const targets = testConfig().targets.map((target) =>
      target.name === 'near' ? { ...target, context: 'plant-7' } : target,
    );
    expect(
      (await new KubernetesCapacity(kubeconfig({ other: 'http://127.0.0.1:1' })).capacity(targets)).get('near'),
    ).toEqual({ source: 'inventory', reason: 'no kubeconfig context "plant-7"' });
  });
});
