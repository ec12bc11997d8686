import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReleaseRecord } from '../../src/core/release-record.ts';
import { sendWebhook, useAppReplicas } from '../helpers/app-replicas.ts';
import { FakeGitHub } from '../helpers/fake-github.ts';
import { GITOPS_REPO, MODEL_REPO, ReleaseWorld } from '../helpers/release-world.ts';
import { useTempDirs } from '../helpers/temp.ts';
import { example } from '../helpers/webhooks.ts';

const RECORD = 'models/pump-forecaster/release.yaml';
/** A claim of the killed leader expires within the test (and a resync follows soon after). */
const CLAIM_SECONDS = 20;

describe('two app processes on one Lease, one release', () => {
  const replicasWorld = useAppReplicas();
  const tempDir = useTempDirs();

  it('makes one release PR of a run, one GitOps commit per wave and one answer per command when each webhook reaches both replicas three times at once, and when the leader is killed (SIGKILL) holding a command', async () => {
    const github = new FakeGitHub();
    github.limits.perMinute = Infinity;
    github.limits.perHour = Infinity;
    const world = await new ReleaseWorld(github).seed();
    world.model.roles.set('writer', 'write');
    const policy = join(await tempDir(), 'policy.yaml');
    await writeFile(policy, 'gitops:\n  repos: [acme/*]\nregistries:\n  - host: ghcr.io\n');
    const { serving, holder, stop } = await replicasWorld();
    try {
      const { ports, replicas } = await serving(['app-a', 'app-b'], {
        EDGESHIP_POLICY_FILE: policy,
        EDGESHIP_REDELIVER_EVERY_SECONDS: '2',
        EDGESHIP_GITHUB_WRITE_PACING_MS: '0',
        EDGESHIP_RESYNC_EVERY_SECONDS: '5',
        EDGESHIP_COMMAND_CLAIM_SECONDS: String(CLAIM_SECONDS),
      });

      /** Sends a webhook to a replica as GitHub does: its status, 0 when nothing answered. */
      const send = (replica: string, event: string, guid: string, payload: object) =>
        sendWebhook(ports.get(replica) as number, event, guid, JSON.stringify(payload));
      /** One delivery GitHub records, and five more copies of it: each replica gets it three times at once. */
      const everywhere = async (event: string, guid: string, payload: object) => {
        const statuses = await Promise.all(
          ['app-a', 'app-b', 'app-a', 'app-b', 'app-a', 'app-b'].map((replica) => send(replica, event, guid, payload)),
        );
        github.delivered(guid, event, statuses[0] ?? 0, 0);
      };
      // GitHub delivers a failed webhook again when asked, to the replica still up.
      const payloads = new Map<string, { event: string; payload: object }>();
      github.redeliver = (delivery) => {
        const known = payloads.get(delivery.guid);
        const alive = [...replicas].find(([, child]) => child.exitCode === null && child.signalCode === null)?.[0];
        if (known && alive) void send(alive, known.event, delivery.guid, known.payload);
      };
      const landed = (fullName: string) => {
        const repo = github.repo(fullName);
        let count = 0;
        for (let sha = repo.branches.get('main'); sha; sha = repo.parents.get(sha)) count += 1;
        return count;
      };
      const gitopsBefore = landed(GITOPS_REPO);
      const record = () => parseReleaseRecord(github.file(GITOPS_REPO, 'main', RECORD) ?? 'model: none\n', RECORD);
      const commandComment = (id: number) => {
        const payload = example('issue_comment.created', MODEL_REPO);
        Object.assign(payload.issue, { number: 1 });
        Object.assign(payload.comment, {
          id,
          body: '/edgeship promote',
          user: { ...payload.comment.user, login: 'writer', type: 'User' },
        });
        // GitHub holds the comment, as a resync reads it.
        github.repo(MODEL_REPO).comments.set(1, [
          ...(github.repo(MODEL_REPO).comments.get(1) ?? []),
          {
            id,
            body: '/edgeship promote',
            user: { login: 'writer', type: 'User' },
            created_at: new Date().toISOString(),
          },
        ]);
        return payload;
      };
      const answersTo = (id: number) =>
        (github.repo(MODEL_REPO).comments.get(1) ?? []).filter((comment) =>
          comment.body.includes(`<!-- edgeship:command:${id} -->`),
        );

      // A run completes: one release PR, one release branch.
      const runId = await world.finishRun();
      await everywhere('workflow_run', 'run-completed', world.runCompleted(runId));
      await expect.poll(() => world.model.pulls.length, { timeout: 30_000, interval: 200 }).toBe(1);
      expect([...world.model.branches.keys()].filter((branch) => branch.startsWith('edgeship/release/'))).toHaveLength(
        1,
      );

      // It merges: the first wave in one GitOps commit, one deployment for it.
      const mergeSha = github.merge(MODEL_REPO, 1);
      await everywhere('pull_request', 'merged', world.merged(1, mergeSha));
      await expect
        .poll(() => Object.keys(record().rollout?.waves ?? {}), { timeout: 30_000, interval: 200 })
        .toEqual(['canary']);
      expect(landed(GITOPS_REPO)).toBe(gitopsBefore + 1);

      // A promote: the next wave in one commit, one answer.
      await everywhere('issue_comment', 'promote-1', commandComment(8001));
      await expect
        .poll(() => answersTo(8001).map((comment) => comment.body), { timeout: 30_000, interval: 200 })
        .toEqual([expect.stringMatching(/^Sent pump-forecaster 1\.0\.0 to wave \*\*plants\*\*/)]);
      expect(landed(GITOPS_REPO)).toBe(gitopsBefore + 2);

      // The next promote reaches only the leader, which is killed as it takes it.
      const leader = holder() as string;
      const promote = commandComment(8002);
      payloads.set('promote-2', { event: 'issue_comment', payload: promote });
      const answered = send(leader, 'issue_comment', 'promote-2', promote);
      await new Promise((resolve) => setTimeout(resolve, 50));
      replicas.get(leader)?.kill('SIGKILL');
      github.delivered('promote-2', 'issue_comment', await answered, 0);
      // The other takes over and ends it: by the redelivery, or by its resync once a claim expires.
      await expect
        .poll(() => answersTo(8002).filter((comment) => !comment.body.includes('edgeship:taking')).length, {
          timeout: 90_000,
          interval: 500,
        })
        .toBe(1);
      expect(Object.keys(record().rollout?.waves ?? {})).toEqual(['canary', 'plants', 'cloud']);
      expect(landed(GITOPS_REPO)).toBe(gitopsBefore + 3);
      // A resync more, and nothing changes.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(landed(GITOPS_REPO)).toBe(gitopsBefore + 3);
      expect(world.model.pulls).toHaveLength(1);
      expect([8001, 8002].map((id) => answersTo(id).length)).toEqual([1, 1]);
      expect(world.model.deployments.map((deployment) => deployment.environment).sort()).toEqual([
        'pump-forecaster/canary',
        'pump-forecaster/cloud',
        'pump-forecaster/plants',
      ]);
    } finally {
      await stop();
      github.done();
    }
  }, 180_000);
});
