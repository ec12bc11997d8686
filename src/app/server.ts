import { createProbot } from 'probot';
import { missingStartupSettings, parseAppSettings } from '../compose/app-settings.ts';
import { messageOf } from '../core/errors.ts';
import type { LeaderDuties } from '../adapters/k8s/leader-election.ts';
import { appServer, WEBHOOKS_PATH } from './http-server.ts';
import { replicationFrom } from './leadership.ts';
import { edgeshipOctokit } from './octokit.ts';
import { WorkQueue } from './work-queue.ts';
import type { Logger } from '../ports.ts';

/**
 * `npm start`: the app's webhook server. Its settings come from the environment, parsed once by
 * one schema (compose/app-settings.ts, listed in the README). Refuses to start without the App's
 * id, the webhook secret and the key. With EDGESHIP_LEASE_NAME, replicas elect the one that runs
 * the schedule (leadership.ts). On SIGTERM it gives the Lease up, stops taking webhooks, lets the
 * queued work finish for up to 25 s (Kubernetes' grace period is 30 s) and exits; what is left,
 * the leader's resync finishes from what GitHub shows.
 */
const SHUTDOWN_MS = 25_000;

let settings: ReturnType<typeof parseAppSettings>;
try {
  settings = parseAppSettings();
} catch (error) {
  process.stderr.write(`edgeship: not starting; ${messageOf(error)}\n`);
  process.exit(2);
}
const missing = missingStartupSettings(settings);
if (missing.length > 0) {
  process.stderr.write(`edgeship: not starting; set ${missing.join(', ')}.\n`);
  process.exit(2);
}
const probot = createProbot({ overrides: { Octokit: edgeshipOctokit(settings.writePacingMs) } });
// Probot makes its logger as it initializes, after this line: look it up at each call.
const log: Logger = {
  debug: (fields, message) => probot.log.debug(fields, message),
  info: (fields, message) => probot.log.info(fields, message),
  warn: (fields, message) => probot.log.warn(fields, message),
  error: (fields, message) => probot.log.error(fields, message),
};
const queue = new WorkQueue(log);
// With replicas, the timed work runs on the one holding the Lease; alone, here.
const replication = replicationFrom(settings.lease, log);
const elector = replication?.elector;
let duties: LeaderDuties | undefined;
const schedule = elector && { run: (given: LeaderDuties) => elector.run((duties = given)) };
const server = await appServer(probot, settings, {
  queue,
  ...(schedule && { schedule }),
  ...(replication && { sharedRollouts: replication.rollouts, leadership: replication.elector }),
});
server.listen(settings.port, () =>
  probot.log.info({ port: settings.port }, `edgeship listening for webhooks on ${WEBHOOKS_PATH}`),
);
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
