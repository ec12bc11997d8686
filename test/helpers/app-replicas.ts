import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nock from 'nock';
import { afterEach, expect } from 'vitest';
import { ROOT } from './fixtures.ts';
import { startGitHubProxy } from './github-proxy.ts';
import { freePort } from './registry.ts';
import { startLeaseApi } from './lease-server.ts';
import { useTempDirs } from './temp.ts';
import { privateKey } from './webhooks.ts';

export const WEBHOOK_SECRET = 'hook-secret';

/**
 * App processes (`src/app/server.ts`) as replicas in a cluster: each reaches the fake GitHub
 * through the loopback proxy and elects its leader on the Lease `edgeship/edgeship-app` of a
 * loopback Kubernetes API. Every process a test starts is killed after it.
 */
export function useAppReplicas() {
  const tempDir = useTempDirs();
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
  });
  return async () => {
    nock.enableNetConnect('127.0.0.1');
    const lease = await startLeaseApi();
    const proxy = await startGitHubProxy();
    const kubeconfig = join(await tempDir(), 'kubeconfig');
    await writeFile(kubeconfig, lease.kubeconfig().exportConfig());
    /** Starts replica `name` (its pod name) with the app's settings and `env` over them. */
    const start = (name: string, env: Record<string, string> = {}) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/server.ts'], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '',
          APP_ID: '1',
          PRIVATE_KEY: privateKey,
          WEBHOOK_SECRET,
          PORT: '0',
          GHE_HOST: proxy.host,
          GHE_PROTOCOL: 'http',
          EDGESHIP_LEASE_NAME: 'edgeship-app',
          EDGESHIP_LEASE_KUBECONFIG: kubeconfig,
          POD_NAME: name,
          POD_NAMESPACE: 'edgeship',
          ...env,
        },
      });
      children.push(child);
      return child;
    };
    const holder = () => lease.lease('edgeship', 'edgeship-app')?.spec?.holderIdentity;
    /** Starts the replicas, each on a free port with `env`, once all answer ready and one leads. */
    const serving = async (names: string[], env: Record<string, string>) => {
      const ports = new Map<string, number>();
      const replicas = new Map<string, ChildProcess>();
      for (const name of names) {
        ports.set(name, await freePort());
        replicas.set(name, start(name, { ...env, PORT: String(ports.get(name)) }));
      }
      const ready = (name: string) =>
        fetch(`http://127.0.0.1:${ports.get(name)}/readyz`).then(
          (response) => response.status,
          () => 0,
        );
      await expect
        .poll(() => Promise.all(names.map(ready)), { timeout: 30_000, interval: 200 })
        .toEqual(names.map(() => 200));
      await expect.poll(holder, { timeout: 20_000, interval: 200 }).toMatch(/^app-/);
      return { ports, replicas };
    };
    const stop = async () => {
      await proxy.stop();
      await lease.stop();
    };
    return { lease, start, serving, holder, stop };
  };
}

/** Sends a webhook to the app on `port` as GitHub does, signed with WEBHOOK_SECRET: its status, 0 when nothing answered. */
export function sendWebhook(port: number, event: string, guid: string, body: string): Promise<number> {
  const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
  return fetch(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': guid,
      'x-hub-signature-256': signature,
    },
  }).then(
    async (response) => (await response.text(), response.status),
    () => 0,
  );
}
