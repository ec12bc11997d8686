import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probes } from '../../src/app/probes.ts';

describe("the app's readiness", () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('is 503 with the reason while GitHub cannot be reached, and 200 again once it can, looking at most once per 10 s', async () => {
    let clock = 0;
    let reachable = false;
    let looks = 0;
    const handle = probes(
      async () => {
        looks += 1;
        if (!reachable) throw new Error('connect ECONNREFUSED 140.82.112.6:443');
      },
      10_000,
      () => clock,
    );
    server = createServer((request, response) => {
      if (!handle(request, response)) response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const ready = async () => {
      const response = await fetch(`${url}/readyz`);
      return [response.status, (await response.text()).trim()];
    };
    expect(await ready()).toEqual([503, 'cannot reach GitHub as the app: connect ECONNREFUSED 140.82.112.6:443']);
    // Liveness does not depend on GitHub: a pod that cannot reach it is not restarted for it.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    reachable = true;
    clock = 9_999;
    expect(await ready()).toEqual([503, expect.stringContaining('cannot reach GitHub') as string]);
    clock = 10_000;
    expect(await ready()).toEqual([200, 'ready']);
    expect(looks).toBe(2);
    expect((await fetch(`${url}/other`)).status).toBe(404);
  });
});
