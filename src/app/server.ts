import { createProbot } from 'probot';
import { appServer, WEBHOOKS_PATH } from './http-server.ts';
import { EdgeshipOctokit } from './octokit.ts';
import { missingStartupSettings } from './startup.ts';

/**
 * `npm start`: the app's webhook server. Reads APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH),
 * WEBHOOK_SECRET and PORT (default 3000) from the environment, and the settings http-server.ts
 * lists. Refuses to start without the secret and the key.
 */
const missing = missingStartupSettings(process.env);
if (missing.length > 0) {
  process.stderr.write(`edgeship: not starting; set ${missing.join(', ')}.\n`);
  process.exit(2);
}
const probot = createProbot({ overrides: { Octokit: EdgeshipOctokit } });
const port = Number(process.env.PORT ?? 3000);
(await appServer(probot, process.env)).listen(port, () => probot.log.info({ port }, `edgeship listening for webhooks on ${WEBHOOKS_PATH}`));
