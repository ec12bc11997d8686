import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/** Passes a request on to a registry on loopback, rewriting its absolute Location headers to ours. */
export function forward(req: IncomingMessage, res: ServerResponse, upstream: string): void {
  const outgoing = httpRequest(
    `http://${upstream}${req.url}`,
    { method: req.method, headers: { ...req.headers, host: upstream } },
    (answer) => {
      const headers = { ...answer.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(`http://${upstream}`, '');
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    },
  );
  req.pipe(outgoing);
}
