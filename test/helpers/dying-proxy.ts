import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { forward } from './forward.ts';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback front for a registry that goes away mid-upload: it forwards requests until `puts`
 * blob uploads went through, then drops every connection and stops listening.
 */
export async function startDyingProxy(upstream: string, puts: number) {
  const sockets = new Set<Socket>();
  let forwardedPuts = 0;
  let dead = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (dead || (req.method === 'PUT' && forwardedPuts >= puts)) {
      dead = true;
      for (const socket of sockets) socket.destroy();
      server.close();
      return;
    }
    if (req.method === 'PUT') forwardedPuts += 1;
    forward(req, res, upstream);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => (dead ? resolve() : server.close(() => resolve()))),
  };
}
