import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJson } from '../core/parse-json.ts';

/** Answers a request with a JSON body. */
export type JsonAnswer = (status: number, body: object) => void;

/**
 * A POST endpoint of the app's server at `path` that takes a JSON body: other methods get 405, a
 * body over `maxBytes` 413 (naming `what` it takes), a body that is not JSON 400 with `notJson`;
 * `handle` gets the parsed body. Answers false for other paths, so the server asks the next one.
 */
export function postJsonEndpoint(
  path: string,
  body: { what: string; maxBytes: number; notJson: string },
  handle: (data: unknown, request: IncomingMessage, answer: JsonAnswer) => void,
) {
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== path) return false;
    const answer: JsonAnswer = (status, data) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
    if (request.method !== 'POST') {
      request.resume();
      response.writeHead(405, { allow: 'POST' }).end();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit: answered at once, and the rest read and dropped (a reset socket could lose
      // the answer), up to a bound past which the connection goes.
      if (refused) {
        if (size > 16 * body.maxBytes) request.destroy();
      } else if (size > body.maxBytes) {
        refused = true;
        chunks.length = 0;
        response.setHeader('connection', 'close');
        answer(413, { error: `${body.what} may be at most ${body.maxBytes} bytes` });
      } else chunks.push(chunk);
    });
    request.on('end', () => {
      if (refused) return;
      let data: unknown;
      try {
        data = parseJson(Buffer.concat(chunks).toString('utf8'), (issues) => new Error(issues.join('; ')));
      } catch {
        return answer(400, { error: body.notJson });
      }
      handle(data, request, answer);
    });
    return true;
  };
}

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
export function bearerIs(request: IncomingMessage, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(request.headers.authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
