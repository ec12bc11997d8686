import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { forward } from './forward.ts';
import type { AddressInfo } from 'node:net';

/**
 * A loopback front for a registry that demands Bearer tokens the way GHCR does: a request
 * without a valid token gets 401 with a Bearer challenge; the realm trades Basic credentials
 * for a token; requests with the token are forwarded to the real registry behind it.
 */
export async function startTokenProxy(upstream: string, credentials: { username: string; password: string }) {
  const token = 'test-token-' + Math.random().toString(36).slice(2);
  const scopes: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (url.pathname === '/token') {
      const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
      scopes.push(url.searchParams.get('scope') ?? '');
      if (req.headers.authorization !== expected)
        return void res.writeHead(401).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      const { port } = server.address() as AddressInfo;
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="edgeship-test",scope="repository:x:pull"`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    forward(req, res, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    scopes,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
