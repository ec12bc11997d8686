import type { RepoRef } from '../ports.ts';
import type { ActiveTraining, FollowOutcome } from '../services/bot/cluster-training.ts';
import { repoName } from '../core/formats.ts';

interface Followed {
  installation: number;
  repo: RepoRef;
  run: ActiveTraining;
}

/**
 * The cluster training runs (Jobs, Kubeflow runs) the app follows until they end. In memory
 * only: after a restart the resync finds them again from the in-progress `edgeship/train`
 * check runs.
 */
export class ActiveTrainings {
  private readonly active = new Map<string, Followed>();

  private static id(repo: RepoRef, key: string): string {
    return `${repoName(repo)}#${key}`;
  }

  /** Follows the run; an older run of the same commit (its check run now this one's) is dropped. */
  follow(installation: number, repo: RepoRef, run: ActiveTraining): void {
    for (const [id, followed] of this.active) {
      if (followed.repo.owner === repo.owner && followed.repo.repo === repo.repo && followed.run.sha === run.sha)
        this.active.delete(id);
    }
    this.active.set(ActiveTrainings.id(repo, run.key), { installation, repo, run });
  }

  /** Keeps following the run as the look left it, or forgets it once the outcome says it ended. */
  update(repo: RepoRef, run: ActiveTraining, outcome: FollowOutcome): void {
    const id = ActiveTrainings.id(repo, run.key);
    const followed = this.active.get(id);
    if (typeof outcome === 'object' && 'following' in outcome) {
      if (followed) followed.run = outcome.following;
    } else this.active.delete(id);
  }

  list(): Followed[] {
    return [...this.active.values()];
  }
}
