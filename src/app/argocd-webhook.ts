import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerIs } from './post-endpoint.ts';

export const ARGOCD_WEBHOOK_PATH = '/api/edgeship/argocd';

/**
 * Argo CD Notifications (a webhook service pointed here, `Authorization: Bearer <token>`) only
 * nudge the rollouts: each call takes the next step now instead of at the next tick. The watch
 * stays the source of truth, so the body is not trusted for anything.
 */
export function argoCdWebhook(token: string, nudge: () => Promise<unknown>) {
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== ARGOCD_WEBHOOK_PATH) return false;
    request.resume();
    if (request.method !== 'POST') {
      response.writeHead(405, { allow: 'POST' }).end();
    } else if (!bearerIs(request, token)) {
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
