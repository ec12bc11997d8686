import type { Probot } from 'probot';
import { GitHubScm } from '../adapters/github/scm.ts';
import type { ArtifactStore, Logger } from '../ports.ts';
import { resyncRepo } from '../services/github/resync.ts';
import type { WorkQueue } from './work-queue.ts';

/**
 * Queues a resync of every repository of every installation. Each repository goes through the
 * same per-repository queue as its webhooks, so a resync never races an event.
 */
export async function resyncAll(app: Probot, queue: WorkQueue, storeFor: (reference: string) => ArtifactStore, log: Logger): Promise<number> {
  const appOctokit = await app.auth();
  const installations = await appOctokit.paginate(appOctokit.rest.apps.listInstallations, { per_page: 100 });
  let queued = 0;
  for (const installation of installations) {
    const octokit = await app.auth(installation.id);
    const repositories = await octokit.paginate(octokit.rest.apps.listReposAccessibleToInstallation, { per_page: 100 });
    for (const repository of repositories) {
      const repo = { owner: repository.owner.login, repo: repository.name };
      queue.add(`${repo.owner}/${repo.repo}`, 'resync', () => resyncRepo({ scm: new GitHubScm(octokit), log, storeFor }, repo, repository.default_branch));
      queued += 1;
    }
  }
  return queued;
}
