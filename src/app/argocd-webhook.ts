import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const ARGOCD_WEBHOOK_PATH = '/api/edgeship/argocd';

/**
 * Argo CD Notifications (a webhook service pointed here, `Authorization: Bearer <token>`) only
 * nudge the rollouts: each call takes the next step now instead of at the next tick. The watch
 * stays the source of truth, so the body is not trusted for anything.
 */
export function argoCdWebhook(token: string, nudge: () => Promise<unknown>) {
  const expected = Buffer.from(`Bearer ${token}`);
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== ARGOCD_WEBHOOK_PATH) return false;
    request.resume();
    const given = Buffer.from(request.headers.authorization ?? '');
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
    } else if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      response
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'expected Authorization: Bearer <EDGESHIP_ARGOCD_WEBHOOK_TOKEN>' }));
    } else {
      void nudge();
      response.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ nudged: true }));
    }
    return true;
  };
}
