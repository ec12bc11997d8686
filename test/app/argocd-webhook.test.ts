import { Probot } from 'probot';
import { describe, expect, it } from 'vitest';
import { argoCdWebhook } from '../../src/app/argocd-webhook.ts';
import { edgeshipApp } from '../../src/app/index.ts';
import { postWithToken, serveHandler } from '../helpers/handler-server.ts';
import { privateKey } from '../helpers/webhooks.ts';

describe('Argo CD notifications', () => {
  it('nudge the rollouts when the token matches, and only then', async () => {
    let nudges = 0;
    const server = await serveHandler(argoCdWebhook('s3cret', async () => (nudges += 1)));
    const { url } = server;
    const post = (path: string, token?: string) =>
      postWithToken(`${url}${path}`, '{"app":"edgeship-plant-north"}', token);
    try {
      expect((await post('/api/edgeship/argocd', 'wrong')).status).toBe(401);
      expect((await post('/api/edgeship/argocd')).status).toBe(401);
      expect((await fetch(`${url}/api/edgeship/argocd`)).status).toBe(405);
      expect((await post('/elsewhere', 's3cret')).status).toBe(404);
      expect(nudges).toBe(0);
      const accepted = await post('/api/edgeship/argocd', 's3cret');
      expect({ status: accepted.status, body: await accepted.json() }).toEqual({ status: 202, body: { nudged: true } });
      expect(nudges).toBe(1);
    } finally {
      await server.stop();
    }
  });

  it('get from the app the same step the rollout tick takes', async () => {
    let nudge: (() => Promise<number>) | undefined;
    await new Probot({ appId: 1, privateKey, logLevel: 'fatal' }).load(
      edgeshipApp({ resyncEveryMs: 0, rolloutEveryMs: 0, redeliverEveryMs: 0, onNudge: (given) => (nudge = given) }),
    );
    expect(await nudge?.()).toBe(0); // no rollout going: nothing to step
  });
});
