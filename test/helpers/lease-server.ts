import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { V1MicroTime, type V1ConfigMap, type V1Lease } from '@kubernetes/client-node';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { kubeconfigFor } from './argocd-server.ts';

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  reason,
  message,
  code,
});
/** metav1.MicroTime on the wire: RFC 3339 with microseconds, as the API server parses it. */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * A loopback Kubernetes API serving coordination.k8s.io/v1 Leases (and ConfigMaps, the same way) as the API server does: get,
 * create (409 AlreadyExists on a second), replace with optimistic concurrency (409 Conflict when
 * the body's resourceVersion is not the stored one), each body validated against the Lease schema
 * and its times as MicroTime. `down()` makes it answer 503 until `up()`, as an API server that
 * cannot be reached.
 */
export async function startLeaseApi() {
  const leases = new Map<string, V1Lease>();
  const maps = new Map<string, V1ConfigMap>();
  const configMapWrites: string[] = [];
  const writes: { method: string; holder: string | undefined }[] = [];
  let resourceVersion = 1;
  let available = true;
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const send = (code: number, body: unknown) =>
        response.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (!available)
        return send(503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'));
      const pathname = new URL(request.url ?? '/', 'http://k8s').pathname;
      const configMapPath = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(pathname);
      if (configMapPath)
        return configMaps(request.method ?? 'GET', configMapPath[1] ?? '', configMapPath[2], text, send);
      const path = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(pathname);
      if (!path) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
      const [, namespace = '', name] = path;
      const key = `${namespace}/${name ?? ''}`;
      if (request.method === 'GET' && name) {
        const lease = leases.get(key);
        return lease
          ? send(200, lease)
          : send(404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
      }
      const body = JSON.parse(text || '{}') as V1Lease;
      try {
        new Lease(body as ConstructorParameters<typeof Lease>[0]).validate();
      } catch (error) {
        return send(422, status(422, 'Invalid', `Lease is invalid: ${(error as Error).message}`));
      }
      for (const field of ['acquireTime', 'renewTime'] as const) {
        const value = (body.spec as Record<string, unknown> | undefined)?.[field];
        if (value !== undefined && !(typeof value === 'string' && MICRO_TIME.test(value)))
          return send(
            422,
            status(422, 'Invalid', `spec.${field}: expected a MicroTime, found ${JSON.stringify(value)}`),
          );
      }
      if (request.method === 'POST' && !name) {
        const created = `${namespace}/${body.metadata?.name ?? ''}`;
        if (leases.has(created))
          return send(
            409,
            status(409, 'AlreadyExists', `leases.coordination.k8s.io "${body.metadata?.name}" already exists`),
          );
        const stored = {
          ...body,
          metadata: { ...body.metadata, namespace, resourceVersion: String((resourceVersion += 1)) },
        };
        leases.set(created, stored);
        writes.push({ method: 'POST', holder: body.spec?.holderIdentity });
        return send(201, stored);
      }
      if (request.method === 'PUT' && name) {
        const current = leases.get(key);
        if (!current) return send(404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
        if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion) {
          return send(
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        }
        const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String((resourceVersion += 1)) } };
        leases.set(key, stored);
        writes.push({ method: 'PUT', holder: body.spec?.holderIdentity });
        return send(200, stored);
      }
      return send(405, status(405, 'MethodNotAllowed', `${request.method} is not allowed here`));
    });
  });
  /** ConfigMaps, with the same optimistic concurrency as Leases. */
  function configMaps(
    method: string,
    namespace: string,
    name: string | undefined,
    text: string,
    send: (code: number, body: unknown) => void,
  ) {
    const key = `${namespace}/${name ?? ''}`;
    if (method === 'GET' && name) {
      const map = maps.get(key);
      return map ? send(200, map) : send(404, status(404, 'NotFound', `configmaps "${name}" not found`));
    }
    const body = JSON.parse(text || '{}') as V1ConfigMap;
    try {
      new ConfigMap(body as ConstructorParameters<typeof ConfigMap>[0]).validate();
    } catch (error) {
      return send(422, status(422, 'Invalid', `ConfigMap is invalid: ${(error as Error).message}`));
    }
    // The API server keeps a ConfigMap under 1 MiB.
    if (Buffer.byteLength(JSON.stringify(body.data ?? {})) > 1_048_576)
      return send(422, status(422, 'Invalid', 'ConfigMap is invalid: []: Too long: must have at most 1048576 bytes'));
    if (method === 'POST' && !name) {
      const created = `${namespace}/${body.metadata?.name ?? ''}`;
      if (maps.has(created))
        return send(409, status(409, 'AlreadyExists', `configmaps "${body.metadata?.name}" already exists`));
      const stored = {
        ...body,
        metadata: { ...body.metadata, namespace, resourceVersion: String((resourceVersion += 1)) },
      };
      maps.set(created, stored);
      return send(201, stored);
    }
    if (method === 'PUT' && name) {
      const current = maps.get(key);
      if (!current) return send(404, status(404, 'NotFound', `configmaps "${name}" not found`));
      if (body.metadata?.resourceVersion !== current.metadata?.resourceVersion)
        return send(
          409,
          status(
            409,
            'Conflict',
            `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
          ),
        );
      const stored = { ...body, metadata: { ...body.metadata, resourceVersion: String((resourceVersion += 1)) } };
      maps.set(key, stored);
      configMapWrites.push(key);
      return send(200, stored);
    }
    return send(405, status(405, 'MethodNotAllowed', `${method} is not allowed here`));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeconfig: () => kubeconfigFor(url),
    lease: (namespace: string, name: string) => leases.get(`${namespace}/${name}`),
    /** Stores a Lease as another replica wrote it (one that then died without giving it up). */
    hold: (namespace: string, name: string, holder: string, annotations?: Record<string, string>) => {
      const renewTime = new V1MicroTime(Date.now());
      leases.set(`${namespace}/${name}`, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name,
          namespace,
          resourceVersion: String((resourceVersion += 1)),
          ...(annotations && { annotations }),
        },
        spec: {
          holderIdentity: holder,
          leaseDurationSeconds: 2,
          acquireTime: renewTime,
          renewTime,
          leaseTransitions: 0,
        },
      });
    },
    writes,
    configMap: (namespace: string, name: string) => maps.get(`${namespace}/${name}`),
    configMapWrites,
    down: () => (available = false),
    up: () => (available = true),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
