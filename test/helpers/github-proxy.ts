import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * GitHub on loopback for apps in child processes: a GitHub Enterprise-style base URL
 * (`GHE_HOST=127.0.0.1:<port>`, `GHE_PROTOCOL=http`) whose requests this test process sends on
 * to https://api.github.com, where the fake GitHub (nock) answers them.
 */
export async function startGitHubProxy() {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '/').replace(/^\/api\/v3/, '').replace(/^\/api\/graphql/, '/graphql');
      const headers = Object.fromEntries(
        Object.entries(request.headers).flatMap(([name, value]) =>
          typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name) ? [[name, value]] : [],
        ),
      );
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(`https://api.github.com${path}`, { method: request.method ?? 'GET', headers, ...(body && { body }) }).then(
        async (answer) => {
          const text = Buffer.from(await answer.arrayBuffer());
          // A page's Link names the next page at GitHub Enterprise's own host, as that server's would.
          const own = `http://${request.headers.host ?? ''}/api/v3`;
          const passed = Object.fromEntries(
            [...answer.headers]
              .filter(([name]) => !['content-encoding', 'content-length', 'transfer-encoding'].includes(name))
              .map(([name, value]) => [
                name,
                name === 'link' ? value.replaceAll('https://api.github.com', own) : value,
              ]),
          );
          response.writeHead(answer.status, passed).end(text);
        },
        (error: unknown) => response.writeHead(502).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
