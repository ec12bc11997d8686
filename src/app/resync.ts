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
import { repoName } from '../core/names.ts';

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

/** Queues one step of every rollout still going, each in its repository's queue. */
export async function tickRollouts(app: Probot, deps: LoopDeps): Promise<number> {
  const { queue, rollouts, ...services } = deps;
  await rollouts.adopt();
  const active = rollouts.list();
  for (const { installation, repo, pull } of active) {
    const octokit = await app.auth(installation);
    queue.addOnce(repoName(repo), `rollout #${pull.number}`, async () =>
      rollouts.update(
        installation,
        repo,
        pull,
        await reconcileRelease(
          {
            ...services,
            scm: new GitHubScm(octokit, services.appId, { ...(services.contents && { contents: services.contents }) }),
          },
          repo,
          pull,
        ),
      ),
    );
  }
  return active.length;
}

/** Queues a look at every cluster training run still followed, each in its repository's queue. */
export async function tickTrainings(
  app: Probot,
  deps: LoopDeps & { trainings: ActiveTrainings; storeFor: (reference: string) => ArtifactStore },
): Promise<number> {
  const { queue, trainings, ...services } = deps;
  const active = trainings.list();
  for (const { installation, repo, run } of active) {
    const octokit = await app.auth(installation);
    queue.addOnce(repoName(repo), `training ${run.key}`, async () =>
      trainings.update(
        repo,
        run,
        await followClusterRun(
          {
            ...services,
            scm: new GitHubScm(octokit, services.appId, { ...(services.contents && { contents: services.contents }) }),
          },
          repo,
          run,
        ),
      ),
    );
  }
  return active.length;
}
