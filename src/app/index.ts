import type { ApplicationFunction, Context, Probot } from 'probot';
import type { VerdictBook } from '../core/analysis.ts';
import type { SignatureChecker } from '../core/release-signature.ts';
import type { VerdictLeadership } from './verdict-endpoint.ts';
import { policyStoreForReference } from '../adapters/oci/index.ts';
import { checkReleaseSignature } from '../adapters/signing/release-check.ts';
import { allowMlflowUri, EMPTY_POLICY, type OperatorPolicy } from '../core/policy.ts';
import { commitContents, GitHubScm } from '../adapters/github/scm.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import { MlflowRegistry } from '../adapters/mlflow/registry.ts';
import type {
  ArtifactStore,
  ClusterCapacity,
  FleetStatus,
  Logger,
  ModelRegistry,
  RepoRef,
  Scm,
  SharedRollouts,
  TrainingCluster,
} from '../ports.ts';
import { GitOpsError } from '../core/errors.ts';
import { runCommand } from '../services/bot/commands.ts';
import { ALLOW_BREAKING_LABEL, approveBreakingByLabel } from '../services/bot/breaking-approval.ts';
import { recordDrift, takeDriftEvent, type DriftEvidence } from '../services/bot/drift.ts';
import { ensureReleasePr } from '../services/bot/release-pr.ts';
import { reconcileCurrentRelease, reconcileRelease } from '../services/bot/release-rollout.ts';
import { DASHBOARD_LABEL } from '../core/dashboard.ts';
import { KeyedLock } from '../core/keyed-lock.ts';
import { startTraining } from '../services/bot/start-training.ts';
import { redeliverFailed } from './redeliveries.ts';
import { resyncAll, tickRollouts, tickTrainings } from './resync.ts';
import { ActiveRollouts } from './active-rollouts.ts';
import { ActiveTrainings } from './active-trainings.ts';
import { PeriodicWork } from './periodic-work.ts';
import { WorkQueue } from './work-queue.ts';
import type { LeaderDuties } from '../adapters/k8s/leader-election.ts';
import { repoName } from '../core/formats.ts';

export interface AppOptions {
  /** The operator's policy (EDGESHIP_POLICY_FILE); the empty policy without one. */
  policy?: OperatorPolicy;
  /** This app's id, so only its own check runs count (APP_ID). */
  appId?: number;
  /** Largest artifact blob the app reads, in bytes (EDGESHIP_MAX_BLOB_BYTES). */
  maxBlobBytes?: number;
  /** The operator's registry credentials (EDGESHIP_REGISTRY_USERNAME, EDGESHIP_REGISTRY_PASSWORD), sent only to registries the policy lists. */
  credentials?: { username: string; password: string };
  /** The operator's MLflow token (MLFLOW_TRACKING_TOKEN), sent only to tracking servers the policy lists. */
  mlflowToken?: string;
  /** Where tasks run; tests pass their own to wait for it. */
  queue?: WorkQueue;
  /** The artifact store for a reference, to read the deployed release. */
  storeFor?: (reference: string) => ArtifactStore;
  /** Milliseconds between resyncs of every repository, the first at start-up; 0 turns them off. */
  resyncEveryMs?: number;
  /** Argo CD for a model's fleet, when the app can read it; without it later waves wait for `/edgeship promote`. */
  fleetFor?: (config: EdgeshipConfig) => FleetStatus | undefined;
  /** Milliseconds between steps of the rollouts still going; 0 turns them off. */
  rolloutEveryMs?: number;
  /** The clock rollouts measure soak times on; tests pass their own. */
  now?: () => number;
  /** Live capacity of edge clusters for placement (targets[].context); see server.ts. */
  capacity?: ClusterCapacity;
  /** The model registry a config mirrors to; MLflow from registry.mlflow by default. */
  registryFor?: (config: EdgeshipConfig) => ModelRegistry | undefined;
  /** The rollouts still going; tests pass their own to step them. */
  rollouts?: ActiveRollouts;
  /** Receives the function that takes the next rollout steps now (for Argo CD notifications). */
  onNudge?: (nudge: () => Promise<number>) => void;
  /** The cluster a config trains on (train.backend kubernetes or kubeflow); see training-clusters.ts. */
  trainingFor?: (config: EdgeshipConfig) => TrainingCluster | undefined;
  /** Where cluster runs report that they finished, and the secret of their tokens. */
  trainingCallback?: { url: string; secret: string };
  /** The cluster training runs followed; tests pass their own to step them. */
  trainings?: ActiveTrainings;
  /** How long a claim on a `/edgeship` command lasts unanswered (services/bot/command-claim.ts). */
  claimExpiresMs?: number;
  /** Milliseconds between sweeps for webhooks GitHub failed to deliver (at most 5 minutes); 0 turns them off. */
  redeliverEveryMs?: number;
  /** Milliseconds between looks at the cluster training runs; 0 turns them off. */
  trainingEveryMs?: number;
  /** Receives the function that looks at the cluster training runs now (for watches and callbacks). */
  onTrainingNudge?: (nudge: () => Promise<number>) => void;
  /** Receives the function that records drift evidence a site posted; it answers the refusal's reason, or nothing when the evidence was taken. */
  onDriftEvidence?: (receive: (repo: RepoRef, evidence: DriftEvidence) => Promise<string | undefined>) => void;
  /**
   * Who runs the timed work (the resync, rollout ticks, looks at training runs, the redelivery sweep): with replicas,
   * the one that leads (adapters/k8s/leader-election.ts); without, this process alone.
   */
  schedule?: { run(duties: LeaderDuties): void };
  /** Where replicas record the rollouts they started, so the leader steps them all. */
  sharedRollouts?: SharedRollouts;
  /** The analysis verdicts sites posted (verdict-endpoint.ts), for waves with rollout.analysis. */
  verdicts?: VerdictBook;
  /** With replicas, who keeps the verdicts: the leader, which followers hand them to (server.ts passes the elector). */
  leadership?: VerdictLeadership;
}

const DEFAULT_RESYNC_MS = 15 * 60_000;
const DEFAULT_ROLLOUT_MS = 60_000;
const DEFAULT_TRAINING_MS = 30_000;
const DEFAULT_REDELIVERY_MS = 4 * 60_000;

/** The webhook events the app subscribes to; app.yml lists the same. */
export const HANDLED_EVENTS = [
  'issue_comment',
  'issues',
  'pull_request',
  'push',
  'repository_dispatch',
  'workflow_run',
] as const;

const repoOf = (
  context: Context<'push' | 'workflow_run' | 'pull_request' | 'issue_comment' | 'issues' | 'repository_dispatch'>,
) => context.repo();

/**
 * The edgeship GitHub App. Handlers are guard clauses and one queued service call, one task at a
 * time per repository; the webhook is answered when the task has run (work-queue.ts).
 */
export function edgeshipApp(options: AppOptions = {}): ApplicationFunction {
  return (app: Probot) => {
    const log = app.log as unknown as Logger;
    const queue = options.queue ?? new WorkQueue(log);
    const policy = options.policy ?? EMPTY_POLICY;
    const { appId, credentials, maxBlobBytes: maxBytes } = options;
    const storeFor =
      options.storeFor ??
      ((reference: string) =>
        policyStoreForReference(reference, policy, 'artifact reference', {
          ...(credentials && { credentials }),
          ...(maxBytes && { maxBytes }),
        }));
    const rollouts =
      options.rollouts ?? new ActiveRollouts(options.sharedRollouts && { store: options.sharedRollouts, log });
    // Drift evidence of one model and site is recorded one post at a time.
    const driftLock = new KeyedLock();
    const registryFor =
      options.registryFor ??
      ((config: EdgeshipConfig) =>
        config.registry?.mlflow
          ? new MlflowRegistry(allowMlflowUri(policy, config.registry.mlflow.trackingUri), options.mlflowToken)
          : undefined);
    const trainings = options.trainings ?? new ActiveTrainings();
    const training = {
      ...(options.trainingFor && { trainingFor: options.trainingFor }),
      ...(options.trainingCallback && { callback: options.trainingCallback }),
    };
    // Installation ids by repo: the GitOps repo is written through its own installation.
    const installations = new Map<string, number>();
    const installationOf = async (repo: RepoRef): Promise<number> => {
      const name = repoName(repo).toLowerCase();
      let id = installations.get(name);
      if (id === undefined) {
        const { data } = await (
          await app.auth()
        ).rest.apps
          .getRepoInstallation({ ...repo })
          .catch((error: { status?: number }) => {
            if (error.status === 404)
              throw new GitOpsError(
                `edgeship is not installed on ${name}; install the app on the GitOps repo (it may be in another organisation)`,
              );
            throw error;
          });
        id = data.id;
        installations.set(name, id);
      }
      return id;
    };
    const contents = commitContents();
    const scmFor = async (repo: RepoRef): Promise<Scm> =>
      new GitHubScm(await app.auth(await installationOf(repo)), appId, { contents });
    const rolloutDeps = {
      policy,
      appId,
      scmFor,
      contents,
      registryFor,
      // Releases of repos the policy says must be signed are checked before their PR (release-pr.ts).
      // Async, so a registry the policy refuses (storeFor throws) is a rejection the check turns into a refusal.
      checkSignature: (async (artifact, commit, trust) =>
        checkReleaseSignature(storeFor(artifact.reference), artifact, commit, trust)) satisfies SignatureChecker,
      ...(options.fleetFor && { fleetFor: options.fleetFor }),
      ...(options.verdicts && { verdicts: options.verdicts }),
      ...(options.now && { now: options.now }),
      ...(options.claimExpiresMs && { claimExpiresMs: options.claimExpiresMs }),
    };
    const deps = (context: Context) => {
      const installation = (context.payload as { installation?: { id: number } }).installation?.id;
      const repo = context.repo();
      const defaultBranch = (context.payload as { repository?: { default_branch?: string } }).repository
        ?.default_branch;
      return {
        scm: new GitHubScm(context.octokit, appId, {
          contents,
          ...(defaultBranch && { defaultBranch: { repo, branch: defaultBranch } }),
        }),
        log: context.log as unknown as Logger,
        storeFor,
        ...rolloutDeps,
        ...training,
        ...(options.capacity && { capacity: options.capacity }),
        ...(installation !== undefined && {
          onClusterRun: (run: Parameters<ActiveTrainings['follow']>[2]) => trainings.follow(installation, repo, run),
        }),
      };
    };
    const key = repoName;
    const asked = new Set<string>();
    // With replicas, another one may be taking a push the resync finds unchecked (services/bot/resync.ts).
    const uncheckedHeads = options.schedule ? new Map<string, string>() : undefined;
    const ROLLOUTS = 'Rollout tick';
    const TRAININGS = 'Training tick';
    const work = new PeriodicWork(
      [
        {
          name: 'Resync',
          everyMs: options.resyncEveryMs ?? DEFAULT_RESYNC_MS,
          // A new leader resyncs first: it learns the rollouts and runs the last one left going.
          atStart: true,
          run: () =>
            resyncAll(app, {
              queue,
              rollouts,
              trainings,
              storeFor,
              log,
              ...rolloutDeps,
              ...(uncheckedHeads && { uncheckedHeads }),
            }),
        },
        {
          name: ROLLOUTS,
          everyMs: options.rolloutEveryMs ?? DEFAULT_ROLLOUT_MS,
          run: () => tickRollouts(app, { queue, rollouts, log, ...rolloutDeps }),
        },
        {
          name: TRAININGS,
          everyMs: options.trainingEveryMs ?? DEFAULT_TRAINING_MS,
          run: () => tickTrainings(app, { queue, rollouts, trainings, storeFor, log, ...rolloutDeps, ...training }),
        },
        {
          name: 'Redelivery sweep',
          everyMs: options.redeliverEveryMs ?? DEFAULT_REDELIVERY_MS,
          atStart: true,
          run: () => redeliverFailed(app, { log, asked }),
        },
      ],
      log,
    );
    // The timed work runs on one replica: started when it leads, stopped when it stops leading.
    if (options.schedule) options.schedule.run(work);
    else work.start();
    options.onNudge?.(() => work.nudge(ROLLOUTS));
    options.onTrainingNudge?.(() => work.nudge(TRAININGS));
    // Evidence from a site's token comes without a webhook: the repo's own installation acts on it.
    options.onDriftEvidence?.(async (repo, evidence) => {
      const installation = await installationOf(repo);
      const octokit = await app.auth(installation);
      const { data: repository } = await octokit.rest.repos.get({ ...repo });
      const driftDeps = {
        scm: new GitHubScm(octokit, appId, { contents, defaultBranch: { repo, branch: repository.default_branch } }),
        log,
        policy,
        lock: driftLock,
        ...training,
        onClusterRun: (run: Parameters<ActiveTrainings['follow']>[2]) => trainings.follow(installation, repo, run),
      };
      // Recorded before the site gets its 202: acknowledged evidence is never lost.
      const event = await recordDrift(driftDeps, repo, {
        branch: repository.default_branch,
        payload: evidence,
        now: Date.now(),
      });
      if (typeof event === 'object' && 'refused' in event) return event.refused;
      if (typeof event === 'object') void queue.add(key(repo), 'drift', () => takeDriftEvent(driftDeps, repo, event));
      return undefined;
    });

    app.on('push', async (context) => {
      const { payload } = context;
      if (payload.deleted || !payload.ref.startsWith('refs/heads/') || !payload.head_commit) return;
      const repo = repoOf(context);
      // GitHub lists each pushed commit's files (up to 2,048 commits); without the list, the push trains.
      const listed = payload.commits.length > 0 && payload.commits.length < 2048;
      const changedFiles = listed
        ? [
            ...new Set(
              payload.commits.flatMap((commit) => [
                ...(commit.added ?? []),
                ...(commit.modified ?? []),
                ...(commit.removed ?? []),
              ]),
            ),
          ]
        : undefined;
      const trigger = {
        repo,
        sha: payload.after,
        branch: payload.ref.slice('refs/heads/'.length),
        defaultBranch: payload.repository.default_branch,
        reason: 'push' as const,
        ...(changedFiles && { changedFiles }),
      };
      await queue.add(key(repo), 'start-training', () => startTraining(deps(context), trigger));
    });

    app.on('workflow_run.completed', async (context) => {
      const run = context.payload.workflow_run;
      // A fork's run never had the repo's secrets and never releases.
      if (run.head_repository?.full_name !== context.payload.repository.full_name || !run.head_branch) return;
      const repo = repoOf(context);
      const completed = {
        id: run.id,
        headSha: run.head_sha,
        headBranch: run.head_branch,
        path: run.path,
        conclusion: run.conclusion,
        url: run.html_url,
      };
      await queue.add(key(repo), 'release-pr', () => ensureReleasePr(deps(context), repo, completed));
    });

    app.on('pull_request.closed', async (context) => {
      const pull = context.payload.pull_request;
      if (!pull.merged || !pull.merge_commit_sha || pull.head.repo?.full_name !== context.payload.repository.full_name)
        return;
      const repo = repoOf(context);
      const merged = {
        number: pull.number,
        headRef: pull.head.ref,
        headSha: pull.head.sha,
        base: pull.base.ref,
        mergeSha: pull.merge_commit_sha,
      };
      const installation = context.payload.installation?.id;
      await queue.add(key(repo), 'deploy', async () =>
        rollouts.update(
          installation,
          repo,
          merged,
          await reconcileRelease(deps(context), repo, merged, { recheckSignature: true }),
        ),
      );
    });

    // The edgeship:allow-breaking label on a release PR is /edgeship allow-breaking by whoever added it.
    app.on('pull_request.labeled', async (context) => {
      const { label, pull_request: pull, sender } = context.payload;
      if (
        label?.name !== ALLOW_BREAKING_LABEL ||
        sender.type === 'Bot' ||
        pull.head.repo?.full_name !== context.payload.repository.full_name
      )
        return;
      const repo = repoOf(context);
      await queue.add(key(repo), 'command', () =>
        approveBreakingByLabel(deps(context).scm, repo, pull.number, sender.login),
      );
    });

    app.on('issue_comment.created', async (context) => {
      const { comment, issue, repository } = context.payload;
      if (comment.user?.type === 'Bot' || !comment.body.trimStart().startsWith('/edgeship')) return;
      const repo = repoOf(context);
      const command = {
        id: comment.id,
        issue: issue.number,
        body: comment.body,
        user: comment.user?.login ?? '',
        branch: repository.default_branch,
      };
      const installation = context.payload.installation?.id;
      await queue.add(key(repo), 'command', () =>
        runCommand(
          { ...deps(context), onRollout: (merged, result) => rollouts.update(installation, repo, merged, result) },
          repo,
          command,
        ),
      );
    });

    // A person's edit of a fleet dashboard (a ticked box): the current release's rollout step acts on it now.
    app.on('issues.edited', async (context) => {
      const { issue, sender, repository, changes } = context.payload;
      if (sender.type === 'Bot' || !changes.body || !issue.labels?.some((label) => label.name === DASHBOARD_LABEL))
        return;
      const repo = repoOf(context);
      const installation = context.payload.installation?.id;
      await queue.add(key(repo), 'dashboard', async () => {
        const step = await reconcileCurrentRelease(deps(context), repo, repository.default_branch);
        if (step) rollouts.update(installation, repo, step.pull, step.result);
      });
    });

    app.on('repository_dispatch', async (context) => {
      const { action, client_payload: payload, repository } = context.payload;
      if (action !== 'edgeship-drift') return;
      const repo = repoOf(context);
      // Recorded before the webhook is answered: acknowledged evidence is never lost.
      const event = await recordDrift({ ...deps(context), lock: driftLock }, repo, {
        branch: repository.default_branch,
        payload,
        now: Date.now(),
      });
      if (typeof event === 'object' && 'refused' in event)
        context.log.warn({ reason: event.refused }, 'Drift evidence refused');
      else if (typeof event === 'object')
        await queue.add(key(repo), 'drift', () => takeDriftEvent(deps(context), repo, event));
    });
  };
}

export default edgeshipApp();
