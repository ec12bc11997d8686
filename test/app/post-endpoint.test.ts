import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bearerIs, postJsonEndpoint } from '../../src/app/post-endpoint.ts';

/** The app's small POST endpoints (drift evidence, a run's callback) share one way of taking a JSON body. */
describe('postJsonEndpoint', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(() => servers.splice(0).forEach((server) => server.close()));

  const serve = async () => {
    const endpoint = postJsonEndpoint(
      '/hook',
      { what: 'a call', maxBytes: 64, notJson: 'expected {"x": 1}' },
      (data, request, answer) =>
        bearerIs(request, 's3cret') ? answer(202, { got: data }) : answer(401, { error: 'expected the token' }),
    );
    const server = createServer((request, response) => {
      if (!endpoint(request, response)) response.writeHead(404).end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${url}${path}`, init).catch(() => undefined);
      return response && { status: response.status, text: await response.text() };
    };
  };

  it('takes a JSON body with the token; refuses another method, another path, a large body, text that is not JSON and a wrong token', async () => {
    const call = await serve();
    const post = (body: string, token = 's3cret') =>
      call('/hook', { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
    expect(await post('{"x":1}')).toEqual({ status: 202, text: '{"got":{"x":1}}' });
    expect(await post('{"x":1}', 's3cres')).toMatchObject({ status: 401 });
    expect(await post('not json')).toEqual({ status: 400, text: '{"error":"expected {\\"x\\": 1}"}' });
    expect(await post(JSON.stringify({ x: 'y'.repeat(100) }))).toMatchObject({
      status: 413,
      text: '{"error":"a call may be at most 64 bytes"}',
    });
    expect(await call('/hook')).toMatchObject({ status: 405 });
    expect(await call('/other', { method: 'POST', body: '{}' })).toMatchObject({ status: 404 });
  });
});
