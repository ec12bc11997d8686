import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Application } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application';

export interface AppStatus {
  sync: string;
  health: string;
  phase?: string;
  healthySince?: string;
  /** The GitOps commit the Application is synced to. */
  revision?: string;
  finishedAt?: string;
}

/** A real-shaped Application object, validated against the Argo CD schema before it is served. */
function application(name: string, status: AppStatus): object {
  const app = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd', labels: { 'edgeship.io/site': name.replace(/^edgeship-/, '') } },
    spec: {
      project: 'default',
      source: {
        repoURL: 'https://github.com/acme/gitops.git',
        targetRevision: 'main',
        path: `sites/${name.replace(/^edgeship-/, '')}`,
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'edgeship' },
    },
    status: {
      sync: { status: status.sync, revision: status.revision ?? 'abc123' },
      health: { status: status.health, ...(status.healthySince && { lastTransitionTime: status.healthySince }) },
      ...(status.phase && {
        operationState: {
          phase: status.phase,
          message: status.phase === 'Failed' ? 'one or more objects failed to apply' : 'successfully synced',
          startedAt: '2026-11-26T11:00:00Z',
          ...(status.finishedAt && { finishedAt: status.finishedAt }),
          operation: { sync: { revision: status.revision ?? 'abc123' } },
        },
      }),
    },
  };
  new Application(app).validate();
  return app;
}

/**
 * A loopback Kubernetes API that serves Argo CD Applications, one by name or as a list (with a
 * label selector on edgeship.io/site, `limit` and `continue`, as the API server pages). With
 * scripts, each read of an Application moves it one step along its script (the last step
 * repeats), like Argo CD reconciling; with a function, the status is whatever it answers at the
 * time for each of `names` (undefined: no such Application). `requests` counts the calls.
 */
export async function startArgoCd(
  scripts: Record<string, AppStatus[]> | ((name: string) => AppStatus | undefined),
  names: string[] = [],
  options: { pageSize?: number } = {},
) {
  const served: Record<string, number> = {};
  const requests: string[] = [];
  const statusOf = (name: string): AppStatus | undefined => {
    if (typeof scripts === 'function') return scripts(name);
    const script = scripts[name];
    if (!script) return undefined;
    const step = Math.min(served[name] ?? 0, script.length - 1);
    served[name] = (served[name] ?? 0) + 1;
    return script[step];
  };
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? '/', 'http://kubernetes');
    if (url.pathname === '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications') {
      const selector = url.searchParams.get('labelSelector');
      if (selector !== null && selector !== 'edgeship.io/site') {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400 }),
          );
        return;
      }
      const all = (typeof scripts === 'function' ? names : Object.keys(scripts)).sort();
      const start = Number(url.searchParams.get('continue') ?? 0);
      // The client's limit, or the server's own page size (what an API server may impose).
      const limit = Number(url.searchParams.get('limit') ?? options.pageSize ?? all.length) || all.length;
      const items = all.slice(start, start + limit).flatMap((name) => {
        const status = statusOf(name);
        return status ? [application(name, status)] : [];
      });
      const more = start + limit < all.length;
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          apiVersion: 'argoproj.io/v1alpha1',
          kind: 'ApplicationList',
          metadata: { resourceVersion: '1', ...(more && { continue: String(start + limit) }) },
          items,
        }),
      );
      return;
    }
    const match = /^\/apis\/argoproj\.io\/v1alpha1\/namespaces\/argocd\/applications\/([^/?]+)/.exec(req.url ?? '');
    const status = match ? statusOf(match[1] as string) : undefined;
    if (!match || !status) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify(application(match[1] as string, status)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kubeconfig: kubeconfigFor(`http://127.0.0.1:${port}`),
    requests,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
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
