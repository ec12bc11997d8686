import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import { InferenceRequestError } from '../core/oip.ts';
import { parseJson } from '../core/parse-json.ts';

/**
 * Reads a request body up to `limit` bytes, after decompression for `Content-Encoding: gzip` or
 * `deflate` (413 beyond the limit, checked while inflating, so a small bomb stays small; 400 for
 * a body that does not inflate; 415 for another encoding).
 */
export async function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (declared > limit)
    throw new InferenceRequestError(413, `request body: ${declared} bytes, over the ${limit}-byte limit`);
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!['identity', 'gzip', 'x-gzip', 'deflate'].includes(encoding))
    throw new InferenceRequestError(
      415,
      `request body: Content-Encoding "${encoding}" is not supported (gzip, deflate or none)`,
    );
  if (encoding === 'identity') return readPlain(request, limit);
  const inflater = encoding === 'identity' ? undefined : encoding === 'deflate' ? createInflate() : createGunzip();
  const source: AsyncIterable<Buffer> = inflater ? request.pipe(inflater) : request;
  request.on('error', (error) => inflater?.destroy(error));
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of source) {
      size += chunk.length;
      if (size > limit)
        throw new InferenceRequestError(
          413,
          `request body: over the ${limit}-byte limit${inflater ? ' once inflated' : ''}`,
        );
      chunks.push(chunk);
    }
  } catch (error) {
    inflater?.destroy();
    if (error instanceof InferenceRequestError) throw error;
    if (inflater)
      throw new InferenceRequestError(400, `request body: not valid ${encoding} data: ${(error as Error).message}`);
    throw error;
  }
  return Buffer.concat(chunks);
}

/** A body without content coding, by events: an async iterator costs a promise per chunk. */
function readPlain(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        request.pause();
        reject(new InferenceRequestError(413, `request body: over the ${limit}-byte limit`));
      }
    });
    request.on('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Reads a JSON body up to `limit` bytes: 413 beyond it, 400 when it is not JSON. */
export async function readJson(request: IncomingMessage, limit: number): Promise<unknown> {
  return bodyJson(await readBody(request, limit));
}

/** A body as JSON; an empty one is undefined (the request's checks then name what is missing). */
function bodyJson(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return parseJson(text, (issues) => new InferenceRequestError(400, `request body: ${issues.join('; ')}`));
  } catch (error) {
    if (text.trim() === '') return undefined;
    throw error;
  }
}

/**
 * An infer request body: JSON, or with `Inference-Header-Content-Length` (the binary tensor
 * extension) a JSON header of that many bytes followed by the inputs' binary data. `bytes` is
 * the whole body as it came (after decompression), for forwarding.
 */
export async function readInferBody(
  request: IncomingMessage,
  limit: number,
): Promise<{ json: unknown; binary?: Buffer; bytes: Buffer; headerLength?: number }> {
  const bytes = await readBody(request, limit);
  const header = request.headers['inference-header-content-length'];
  if (header === undefined) return { json: bodyJson(bytes), bytes };
  const length = Number(header);
  if (!Number.isSafeInteger(length) || length < 0 || length > bytes.length) {
    throw new InferenceRequestError(
      400,
      `Inference-Header-Content-Length: expected the JSON header's size in bytes (at most the body's ${bytes.length}), found "${String(header)}"`,
    );
  }
  return { json: bodyJson(bytes.subarray(0, length)), binary: bytes.subarray(length), bytes, headerLength: length };
}

export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response
    .writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers })
    .end(text);
}

/** An infer answer: JSON, or the JSON header and the outputs' binary data after it. */
export function sendInfer(response: ServerResponse, body: unknown, binary: Buffer[]): void {
  if (binary.length === 0) return sendJson(response, 200, body);
  const header = Buffer.from(JSON.stringify(body), 'utf8');
  const payload = Buffer.concat([header, ...binary]);
  response
    .writeHead(200, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.length),
      'content-length': payload.length,
    })
    .end(payload);
}

/** The OIP error body: `{ "error": "…" }`. */
export function sendError(response: ServerResponse, status: number, message: string): void {
  // A refused body may still be arriving: close the connection rather than read it.
  sendJson(response, status, { error: message }, status === 413 ? { connection: 'close' } : {});
}
