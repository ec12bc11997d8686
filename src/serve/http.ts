import type { IncomingMessage, ServerResponse } from 'node:http';
import { InferenceRequestError } from '../core/oip.ts';

/** Reads a JSON body up to `limit` bytes: 413 beyond it, 400 when it is not JSON. */
export async function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > limit) throw new InferenceRequestError(413, `request body: ${declared} bytes, over the ${limit}-byte limit`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new InferenceRequestError(413, `request body: over the ${limit}-byte limit`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InferenceRequestError(400, `request body: invalid JSON: ${(error as Error).message}`);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
}

/** The OIP error body: `{ "error": "…" }`. */
export function sendError(response: ServerResponse, status: number, message: string): void {
  // A refused body may still be arriving: close the connection rather than read it.
  sendJson(response, status, { error: message }, status === 413 ? { connection: 'close' } : {});
}
