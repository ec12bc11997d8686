import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sendWebhook, useAppReplicas } from '../helpers/app-replicas.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { exampleConfigText } from '../helpers/release-world.ts';
import { example } from '../helpers/webhooks.ts';

/** Pushes go to two repositories, commands to a third: a retrain trains its branch's head, which a push there trains too. */
const PUSHED = ['acme/pump-model', 'acme/fan-model'];
const COMMANDED = 'acme/valve-model';
const REPOS = [...PUSHED, COMMANDED];
const PUSHES = 350; // per pushed repository
const COMMANDS = 300;
/** Deliveries in flight at once, as GitHub sends them. */
const IN_FLIGHT = 12;
/** How long a replica's claim on a command lasts unanswered: a claim of the killed leader expires within the test. */
const CLAIM_SECONDS = 30;

interface Webhook {
  guid: string;
  event: 'push' | 'issue_comment';
  body: string;
  /** A push's repository and commit: its branch moves there when GitHub sends it. */
  pushed?: { fullName: string; sha: string; order: number };
}

describe('two app processes on one Lease, a burst of webhooks', () => {
  const replicasWorld = useAppReplicas();

  it('ends every intent of 1,000 webhooks with one effect when the leader is killed (SIGKILL) in the middle: a push trained or superseded once, the last one trained; one dispatch and one answer per command', async () => {
    const github = new FakeGitHub();
    // The test is of exactly-once, not of rate limits (the apps would wait them out for real).
    github.limits.perMinute = Infinity;
    github.limits.perHour = Infinity;
    const { serving, holder, stop } = await replicasWorld();
    try {
      // The webhooks: pushes of commits that change train.py, and `/edgeship retrain` comments of a writer.
      const config = await exampleConfigText();
      const webhooks: Webhook[] = [];
      const seeds = new Map<string, string>();
      for (const [index, fullName] of REPOS.entries()) {
        github.commit(fullName, 'main', {
          '.github/edgeship.yml': config.replace('model: pump-forecaster', `model: model-${index}`),
          'train.py': 'print(0)\n',
        });
        github.repo(fullName).roles.set('writer', 'write');
        // The seed's own push was answered long ago: a new leader's resync finds it trained.
        github.addCheckRun(fullName, {
          head_sha: github.repo(fullName).branches.get('main') as string,
          name: 'edgeship/train',
          external_id: 'seed',
        });
        seeds.set(fullName, github.repo(fullName).branches.get('main') as string);
        for (let push = 0; push < (PUSHED.includes(fullName) ? PUSHES : 0); push += 1) {
          const before = github.repo(fullName).branches.get('main') as string;
          github.commit(fullName, 'main', { 'train.py': `print(${push + 1})\n` });
          const payload = example('push', fullName);
          const pushed = github.pushOf(fullName, 'main', before);
          Object.assign(payload, {
            ...pushed,
            deleted: false,
            created: false,
            head_commit: { ...payload.head_commit, id: pushed.after, ...pushed.commits[0] },
            commits: pushed.commits.map((commit) => ({ ...payload.head_commit, ...commit })),
          });
          webhooks.push({
            guid: `push-${fullName}-${push}`,
            event: 'push',
            body: JSON.stringify(payload),
            pushed: { fullName, sha: pushed.after, order: push },
          });
        }
        // The branch is where it was before the burst; each push moves it on as GitHub sends that push.
        if (PUSHED.includes(fullName)) github.repo(fullName).branches.set('main', seeds.get(fullName) as string);
        for (let command = 0; command < (fullName === COMMANDED ? COMMANDS : 0); command += 1) {
          const payload = example('issue_comment.created', fullName);
          Object.assign(payload.issue, { number: 1 + (command % 10), pull_request: undefined });
          const id = 70_000 + index * 1000 + command;
          Object.assign(payload.comment, {
            id,
            body: '/edgeship retrain',
            user: { ...payload.comment.user, login: 'writer', type: 'User' },
          });
          // GitHub holds the comment, as a new leader's resync reads it.
          const issue = github.repo(fullName).comments;
          issue.set(payload.issue.number, [
            ...(issue.get(payload.issue.number) ?? []),
            {
              id,
              body: '/edgeship retrain',
              user: { login: 'writer', type: 'User' },
              created_at: new Date().toISOString(),
            },
          ]);
          webhooks.push({
            guid: `command-${fullName}-${command}`,
            event: 'issue_comment',
            body: JSON.stringify(payload),
          });
        }
      }
      // Interleaved, as pushes and comments come.
      const order = (webhook: Webhook) => createHash('sha1').update(webhook.guid).digest('hex');
      webhooks.sort((a, b) => order(a).localeCompare(order(b)));
      expect(webhooks).toHaveLength(1000);

      // A command the killed leader had claimed comes back when its claim expires, at a resync.
      const { ports, replicas } = await serving(['app-a', 'app-b'], {
        EDGESHIP_REDELIVER_EVERY_SECONDS: '2',
        EDGESHIP_GITHUB_WRITE_PACING_MS: '0',
        EDGESHIP_RESYNC_EVERY_SECONDS: '10',
        EDGESHIP_COMMAND_CLAIM_SECONDS: String(CLAIM_SECONDS),
      });
      const first = holder() as string;
      const second = first === 'app-a' ? 'app-b' : 'app-a';
      const alive = new Set(replicas.keys());

      /** How each push was first answered, and by whom. */
      const answered = new Map<string, { replica: string; status: number }>();
      const heads = new Map<string, number>();
      /** Delivers a webhook to a replica as GitHub does, and records what it got (0: no answer). */
      const deliver = async (webhook: Webhook, replica: string, redelivery = false) => {
        const { pushed } = webhook;
        if (pushed && !redelivery && pushed.order > (heads.get(pushed.fullName) ?? -1)) {
          heads.set(pushed.fullName, pushed.order);
          github.repo(pushed.fullName).branches.set('main', pushed.sha);
        }
        const status = await sendWebhook(ports.get(replica) as number, webhook.event, webhook.guid, webhook.body);
        if (!redelivery) github.delivered(webhook.guid, webhook.event, status, 0);
        if (!redelivery) answered.set(webhook.guid, { replica, status });
        return status;
      };
      const byGuid = new Map(webhooks.map((webhook) => [webhook.guid, webhook]));
      github.redeliver = (delivery) => {
        const webhook = byGuid.get(delivery.guid);
        const [replica] = [...alive];
        if (webhook && replica) void deliver(webhook, replica, true);
      };

      const pushKeys = (fullName: string) =>
        github
          .repo(fullName)
          .dispatches.filter((dispatch) => dispatch.inputs.reason === 'push')
          .map((dispatch) => dispatch.inputs.sha);
      const pushes = webhooks.filter((webhook) => webhook.pushed);
      const trainChecks = (webhook: Webhook) =>
        github
          .repo(webhook.pushed?.fullName ?? '')
          .checkRuns.filter((check) => check.name === 'edgeship/train' && check.head_sha === webhook.pushed?.sha);
      const retrainKeys = (fullName: string) =>
        github
          .repo(fullName)
          .dispatches.filter((dispatch) => dispatch.inputs.reason === 'retrain')
          .map((dispatch) => dispatch.inputs.run_key);
      // Answers, not claims: a claim says "Taking" until its answer replaces it.
      const answers = (fullName: string) =>
        [...github.repo(fullName).comments.values()]
          .flat()
          .filter((comment) => !comment.body.includes('edgeship:taking'))
          .map((comment) => /<!-- edgeship:command:(\d+) -->/.exec(comment.body)?.[1])
          .filter(Boolean);
      // A push ends trained (dispatched) or superseded (the branch moved on: a neutral check); the
      // branch's last push is trained.
      const ended = (webhook: Webhook) => trainChecks(webhook).length > 0;
      const lastPushed = (fullName: string) =>
        pushes.find((webhook) => webhook.pushed?.fullName === fullName && webhook.pushed.order === PUSHES - 1)?.pushed
          ?.sha;
      const counted = () =>
        REPOS.map((fullName) => [
          PUSHED.includes(fullName) && pushKeys(fullName).includes(lastPushed(fullName) as string) ? 1 : 0,
          new Set(retrainKeys(fullName)).size,
          new Set(answers(fullName)).size,
        ]);
      // The burst: each webhook to either replica; the leader is killed when 400 have gone out.
      let next = 0;
      let takeover: Promise<number> | undefined;
      const worker = async () => {
        while (next < webhooks.length) {
          const index = next++;
          if (index === 400) {
            alive.delete(first);
            (replicas.get(first) as ChildProcess).kill('SIGKILL');
            const killedAt = Date.now();
            // The other takes the Lease over while the burst goes on: watched from now.
            takeover = (async () => {
              while (holder() !== second) await new Promise((resolve) => setTimeout(resolve, 100));
              return Date.now() - killedAt;
            })();
          }
          const targets = [...alive];
          await deliver(webhooks[index] as Webhook, (index % 2 === 0 ? targets[0] : targets.at(-1)) as string);
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      const killedChild = replicas.get(first) as ChildProcess;
      if (killedChild.exitCode === null && killedChild.signalCode === null) await once(killedChild, 'exit');
      // client-go's timing: a 15 s lease, renewals tried every 2 s (with jitter up to 1.2×).
      expect(await takeover).toBeLessThan(15_000 + 2_000 * 1.2 + 1_000);
      const failed = github.deliveries.filter(
        (delivery) => !delivery.redelivery && delivery.status_code !== 200 && delivery.status_code !== 202,
      );
      expect(failed.length).toBeGreaterThan(0);

      // Every intent ends with one effect, once the survivor has had failed deliveries made again.
      const expected = REPOS.map((fullName) => (fullName === COMMANDED ? [0, COMMANDS, COMMANDS] : [1, 0, 0]));
      await expect.poll(counted, { timeout: 240_000, interval: 500 }).toEqual(expected);
      // Every push that its replica answered after acting, or that GitHub delivered again, has ended;
      // only a push answered 202 (still queued) by the killed replica may have gone, and only one
      // its branch had moved on from (that it was superseded: a newer head trained).
      await expect
        .poll(
          () =>
            pushes.filter(
              (webhook) =>
                !ended(webhook) &&
                !(answered.get(webhook.guid)?.replica === first && answered.get(webhook.guid)?.status === 202),
            ).length,
          { timeout: 60_000, interval: 500 },
        )
        .toBe(0);
      // A sweep more, and nothing is done twice.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      expect(
        REPOS.map((fullName) => [
          PUSHED.includes(fullName) && pushKeys(fullName).includes(lastPushed(fullName) as string) ? 1 : 0,
          retrainKeys(fullName).length,
          answers(fullName).length,
        ]),
      ).toEqual(expected);
      // No push ended twice: one check run each, and no commit dispatched twice.
      expect(pushes.filter((webhook) => trainChecks(webhook).length > 1).map((webhook) => webhook.guid)).toEqual([]);
      for (const fullName of PUSHED) expect(new Set(pushKeys(fullName)).size).toBe(pushKeys(fullName).length);
      // No claim is left behind: the ones that lost were deleted, the killed leader's expired and went.
      expect(
        [...github.repo(COMMANDED).comments.values()]
          .flat()
          .filter((comment) => comment.body.includes('edgeship:taking')),
      ).toEqual([]);
      // Each failed delivery was asked for again once.
      expect(new Set(github.redeliveries).size).toBe(github.redeliveries.length);
    } finally {
      await stop();
      github.done();
    }
  }, 420_000);
});
