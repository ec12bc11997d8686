import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { Probot, ProbotOctokit } from 'probot';
import { edgeshipApp, type AppOptions } from '../../src/app/index.ts';
import { tickRollouts, tickTrainings } from '../../src/app/resync.ts';
import { ActiveRollouts } from '../../src/app/active-rollouts.ts';
import { ActiveTrainings } from '../../src/app/active-trainings.ts';
import { artifactStoreForReference } from '../../src/adapters/oci/index.ts';
import { WorkQueue } from '../../src/app/work-queue.ts';
import { operatorPolicySchema, type OperatorPolicy } from '../../src/core/policy.ts';
import { EDGESHIP_APP } from './fake-github.ts';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples/api.github.com/index.json') as {
  name: string;
  examples: Record<string, unknown>[];
}[];

type EventName =
  | 'push'
  | 'workflow_run.completed'
  | 'pull_request.closed'
  | 'pull_request.labeled'
  | 'issue_comment.created'
  | 'issues.edited'
  | 'repository_dispatch';
export type Payload<E extends EventName> = EmitterWebhookEvent<E>['payload'];

/** A copy of a real webhook payload from @octokit/webhooks-examples, pointed at a repository. */
export function example<E extends EventName>(event: E, fullName: string, installation = 42): Payload<E> {
  const [name, action] = event.split('.') as [string, string | undefined];
  const found = examples
    .find((entry) => entry.name === name)
    ?.examples.find((candidate) => action === undefined || candidate.action === action);
  if (!found) throw new Error(`no ${event} example`);
  const payload = structuredClone(found) as { repository: { owner: object }; installation?: object };
  const [owner, repo] = fullName.split('/') as [string, string];
  // The fake GitHub's repos have `main` as their default branch, as new GitHub repos do.
  payload.repository = {
    ...payload.repository,
    full_name: fullName,
    name: repo,
    owner: { ...payload.repository.owner, login: owner },
    default_branch: 'main',
  } as typeof payload.repository;
  payload.installation = { id: installation, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI=' };
  return payload as unknown as Payload<E>;
}

export const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

/**
 * The operator policy of these tests: the acme GitOps repos, the registries and training
 * clusters the fixtures use. Tests of the policy itself pass their own.
 */
export function testPolicy(extra: { registries?: string[]; kubeflow?: string[] } = {}): OperatorPolicy {
  return operatorPolicySchema.parse({
    gitops: { repos: ['acme/*'] },
    registries: ['ghcr.io', ...(extra.registries ?? [])].map((host) => ({ host })),
    kubeflow: { endpoints: extra.kubeflow ?? [] },
    training: [
      {
        repos: ['acme/*'],
        namespaces: ['ml'],
        images: ['ghcr.io/acme/pump-train'],
        serviceAccounts: ['edgeship-trainer'],
        secrets: ['edgeship-train'],
      },
    ],
  });
}
export const TEST_POLICY = testPolicy();

/** A Probot with the edgeship app loaded, retries off, and the queue and rollouts exposed to drive. */
export function testProbot({
  Octokit,
  ...options
}: Pick<
  AppOptions,
  | 'fleetFor'
  | 'now'
  | 'registryFor'
  | 'trainingFor'
  | 'trainingCallback'
  | 'policy'
  | 'storeFor'
  | 'verdicts'
  | 'queue'
  | 'schedule'
  | 'resyncEveryMs'
> & { Octokit?: typeof ProbotOctokit } = {}) {
  const policy = options.policy ?? TEST_POLICY;
  const probot = new Probot({
    appId: 1,
    privateKey,
    logLevel: 'fatal',
    // Function defaults run last, so they win over Probot's own throttle options.
    Octokit:
      Octokit ??
      ProbotOctokit.defaults((options: Record<string, unknown>) => ({
        ...options,
        retry: { enabled: false },
        throttle: { enabled: false },
      })),
  });
  const errors: unknown[] = [];
  const log = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (fields: { err?: unknown }) => errors.push(fields.err),
  };
  const queue = options.queue ?? new WorkQueue(log);
  const rollouts = new ActiveRollouts();
  const trainings = new ActiveTrainings();
  void probot.load(
    edgeshipApp({
      queue,
      rollouts,
      trainings,
      resyncEveryMs: 0,
      rolloutEveryMs: 0,
      trainingEveryMs: 0,
      redeliverEveryMs: 0,
      appId: EDGESHIP_APP.id,
      ...options,
      policy,
    }),
  );
  let delivery = 0;
  const receive = async <E extends EventName>(event: E, payload: Payload<E>, id = `delivery-${++delivery}`) => {
    await probot.receive({ id, name: event.split('.')[0], payload } as EmitterWebhookEvent);
  };
  /** Waits for queued work and fails with the first task error, if any. */
  const settle = async () => {
    await queue.onIdle();
    if (errors.length > 0) throw errors[0] as Error;
  };
  /** One step of every rollout still going, as the app's interval would run it. */
  const tick = async () => {
    const stepped = await tickRollouts(probot, { queue, rollouts, log, ...options, policy, appId: EDGESHIP_APP.id });
    await settle();
    return stepped;
  };
  /** A nudge as an Argo CD notification sends it: queues the rollout steps without waiting for them. */
  const nudge = () => tickRollouts(probot, { queue, rollouts, log, ...options, policy, appId: EDGESHIP_APP.id });
  /** One look at every cluster training run followed, as the app's interval would take it. */
  const follow = async () => {
    const { trainingFor, trainingCallback, ...rest } = options;
    const looked = await tickTrainings(probot, {
      queue,
      rollouts,
      trainings,
      log,
      storeFor: (reference) => artifactStoreForReference(reference),
      ...rest,
      policy,
      appId: EDGESHIP_APP.id,
      ...(trainingFor && { trainingFor }),
      ...(trainingCallback && { callback: trainingCallback }),
    });
    await settle();
    return looked;
  };
  return { probot, queue, rollouts, trainings, receive, settle, tick, nudge, follow, errors };
}
