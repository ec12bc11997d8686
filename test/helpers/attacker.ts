import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server that records every request it gets: the host a repo writer would like
 * the operator's credentials sent to. `answer` lets it pose as a registry or an API.
 */
export async function startAttacker(
  answer: (request: IncomingMessage, response: ServerResponse) => void = (_request, response) =>
    response.writeHead(200).end('{}'),
) {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((request, response) => {
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    request.resume();
    answer(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    seen,
    /** Every Authorization header it was sent. */
    credentials: () => seen.map((request) => request.headers.authorization).filter((value) => value !== undefined),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
