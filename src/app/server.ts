import { createProbot } from 'probot';
import { appServer, WEBHOOKS_PATH } from './http-server.ts';
import { EdgeshipOctokit } from './octokit.ts';
import { missingStartupSettings } from './startup.ts';
import { WorkQueue } from './work-queue.ts';
import { leaderElectorFromEnv } from './leadership.ts';
import type { LeaderDuties } from '../adapters/k8s/leader-election.ts';

/**
 * `npm start`: the app's webhook server. Reads APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH),
 * WEBHOOK_SECRET and PORT (default 3000) from the environment, and the settings http-server.ts
 * lists, and EDGESHIP_LEASE_NAME for replicas (leadership.ts). Refuses to start without the secret and the key. On SIGTERM it stops taking webhooks,
 * lets the queued work finish for up to 25 s (Kubernetes' grace period is 30 s) and exits; what
 * is left, the next start's resync finishes from what GitHub shows.
 */
const SHUTDOWN_MS = 25_000;

const missing = missingStartupSettings(process.env);
if (missing.length > 0) {
  process.stderr.write(`edgeship: not starting; set ${missing.join(', ')}.\n`);
  process.exit(2);
}
const probot = createProbot({ overrides: { Octokit: EdgeshipOctokit } });
const queue = new WorkQueue(probot.log);
const port = Number(process.env.PORT ?? 3000);
// With replicas, the timed work runs on the one holding the Lease; alone, here.
const elector = leaderElectorFromEnv(process.env, probot.log);
let duties: LeaderDuties | undefined;
const schedule = elector && { run: (given: LeaderDuties) => elector.run((duties = given)) };
const server = await appServer(probot, process.env, { queue, ...(schedule && { schedule }) });
server.listen(port, () => probot.log.info({ port }, `edgeship listening for webhooks on ${WEBHOOKS_PATH}`));
process.once('SIGTERM', () => {
  probot.log.info({}, 'SIGTERM: no more webhooks; finishing queued work');
  // Gives the Lease up first, so another replica takes the schedule over at once.
  void elector?.close(duties);
  server.close();
  server.closeIdleConnections();
  const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), SHUTDOWN_MS).unref());
  void Promise.race([queue.onIdle().then(() => 'idle' as const), deadline]).then((outcome) => {
    if (outcome === 'timeout') probot.log.warn({}, 'Queued work did not finish in time; the next resync finishes it');
    process.exit(0);
  });
});
