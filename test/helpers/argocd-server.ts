import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';

export interface AppStatus {
  sync: string;
  health: string;
  phase?: string;
  healthySince?: string;
}

/** A real-shaped Application object, validated against the Argo CD schema before it is served. */
function application(name: string, status: AppStatus): object {
  const app = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd' },
    spec: { project: 'default', source: { repoURL: 'https://github.com/acme/gitops.git', targetRevision: 'main', path: `sites/${name.replace(/^edgeship-/, '')}` }, destination: { server: 'https://kubernetes.default.svc', namespace: 'edgeship' } },
    status: {
      sync: { status: status.sync, revision: 'abc123' },
      health: { status: status.health, ...(status.healthySince && { lastTransitionTime: status.healthySince }) },
      ...(status.phase && { operationState: { phase: status.phase, message: status.phase === 'Failed' ? 'one or more objects failed to apply' : 'successfully synced', startedAt: '2026-11-26T11:00:00Z', operation: { sync: { revision: 'abc123' } } } }),
    },
  };
  new Application(app).validate();
  return app;
}

/**
 * A loopback Kubernetes API that serves Argo CD Applications; each GET of an Application moves
 * it one step along its script (the last step repeats), like Argo CD reconciling.
 */
export async function startArgoCd(scripts: Record<string, AppStatus[]>) {
  const served: Record<string, number> = {};
  const server = createServer((req, res) => {
    const match = /^\/apis\/argoproj\.io\/v1alpha1\/namespaces\/argocd\/applications\/([^/?]+)/.exec(req.url ?? '');
    const script = match ? scripts[match[1] as string] : undefined;
    if (!match || !script) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    const name = match[1] as string;
    const step = Math.min(served[name] ?? 0, script.length - 1);
    served[name] = (served[name] ?? 0) + 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(application(name, script[step] as AppStatus)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`), stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A kubeconfig with one context for the API server at `server`. */
export function kubeconfigFor(server: string): KubeConfig {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'test', token: 'test-token' }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kubeconfig;
}
