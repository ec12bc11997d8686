import type { Probot } from 'probot';
import { GitHubScm, type CommitContents } from '../adapters/github/scm.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { OperatorPolicy } from '../core/policy.ts';
import type { ArtifactStore, FleetStatus, Logger, ModelRegistry, RepoRef, Scm } from '../ports.ts';
import { reconcileRelease } from '../services/bot/release-rollout.ts';
import { followClusterRun, type ClusterTrainingDeps } from '../services/bot/cluster-training.ts';
import { resyncRepo } from '../services/bot/resync.ts';
import type { ActiveRollouts } from './active-rollouts.ts';
import type { ActiveTrainings } from './active-trainings.ts';
import type { WorkQueue } from './work-queue.ts';
import { repoName } from '../core/formats.ts';

export interface LoopDeps extends ClusterTrainingDeps {
  queue: WorkQueue;
  rollouts: ActiveRollouts;
  /** The cluster training runs the app follows; resync finds lost ones again. */
  trainings?: ActiveTrainings;
  log: Logger;
  fleetFor?: (config: EdgeshipConfig) => FleetStatus | undefined;
  now?: () => number;
  registryFor?: (config: EdgeshipConfig) => ModelRegistry | undefined;
  policy: OperatorPolicy;
  scmFor?: (repo: RepoRef) => Promise<Scm>;
  /** This app's id: only its own check runs count. */
  appId?: number | undefined;
  /** Files read at commits, shared by the app's events and loops. */
  contents?: CommitContents;
  /** With replicas, the heads the last resync found without a check (services/bot/resync.ts). */
  uncheckedHeads?: Map<string, string>;
}

/**
 * Queues a resync of every repository of every installation. Each repository goes through the
 * same per-repository queue as its webhooks, so a resync never races an event. Rollouts still
 * going are handed to the rollout tick.
 */
export async function resyncAll(
  app: Probot,
  deps: LoopDeps & { storeFor: (reference: string) => ArtifactStore },
): Promise<number> {
  const { queue, rollouts, trainings, ...services } = deps;
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  let queued = 0;
  for (const installation of installations) {
    let octokit;
    let repositories;
    try {
      octokit = await app.auth(installation.id);
      repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    } catch (error) {
      // A suspended or removed installation answers 403/404: the others still get their resync.
      deps.log.warn({ installation: installation.id, err: error }, 'Resync skipped an installation');
      continue;
    }
    const installationOctokit = octokit;
    for (const repository of repositories) {
      const repo = { owner: repository.owner.login, repo: repository.name };
      void queue.add(repoName(repo), 'resync', async () => {
        const onClusterRun = (run: Parameters<ActiveTrainings['follow']>[2]) =>
          trainings?.follow(installation.id, repo, run);
        const outcome = await resyncRepo(
          {
            ...services,
            scm: new GitHubScm(installationOctokit, services.appId, {
              ...(services.contents && { contents: services.contents }),
              defaultBranch: { repo, branch: repository.default_branch },
            }),
            onClusterRun,
          },
          repo,
          repository.default_branch,
        );
        if (outcome.rollingOut) rollouts.track(installation.id, repo, outcome.rollingOut);
        for (const run of outcome.training) trainings?.follow(installation.id, repo, run);
      });
      queued += 1;
    }
  }
  return queued;
}

/**
 * Queues one step of each thing the app follows until it ends (a rollout, a cluster training
 * run), each in its repository's queue and through its repository's installation.
 */
async function stepEach<T extends { installation: number; repo: RepoRef }>(
  app: Probot,
  deps: LoopDeps,
  followed: readonly T[],
  label: (entry: T) => string,
  step: (services: Omit<LoopDeps, 'queue'> & { scm: Scm }, entry: T) => Promise<void>,
): Promise<number> {
  const { queue, ...services } = deps;
  for (const entry of followed) {
    const octokit = await app.auth(entry.installation);
    const scm = new GitHubScm(octokit, services.appId, { ...(services.contents && { contents: services.contents }) });
    queue.addOnce(repoName(entry.repo), label(entry), () => step({ ...services, scm }, entry));
  }
  return followed.length;
}

/** Queues one step of every rollout still going (those other replicas recorded too). */
export async function tickRollouts(app: Probot, deps: LoopDeps): Promise<number> {
  const { rollouts } = deps;
  await rollouts.adopt();
  return stepEach(
    app,
    deps,
    rollouts.list(),
    ({ pull }) => `rollout #${pull.number}`,
    async (services, { installation, repo, pull }) =>
      rollouts.update(installation, repo, pull, await reconcileRelease(services, repo, pull)),
  );
}

/** Queues a look at every cluster training run still followed. */
export async function tickTrainings(
  app: Probot,
  deps: LoopDeps & { trainings: ActiveTrainings; storeFor: (reference: string) => ArtifactStore },
): Promise<number> {
  const { trainings, storeFor } = deps;
  return stepEach(
    app,
    deps,
    trainings.list(),
    ({ run }) => `training ${run.key}`,
    async (services, { repo, run }) =>
      trainings.update(repo, run, await followClusterRun({ ...services, storeFor }, repo, run)),
  );
}
