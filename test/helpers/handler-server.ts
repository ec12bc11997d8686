import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Serves one of the app's extra routes (a handler that answers true when the path is its own)
 * on loopback, 404 for every other path, as the app's server mounts them.
 */
export async function serveHandler(handle: (request: IncomingMessage, response: ServerResponse) => boolean) {
  const server = createServer((request, response) => {
    if (!handle(request, response)) response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A POST with an optional bearer token. */
export const postWithToken = (url: string, body: string, token?: string) =>
  fetch(url, { method: 'POST', body, headers: token ? { authorization: `Bearer ${token}` } : {} });
