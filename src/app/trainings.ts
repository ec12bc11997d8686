import type { RepoRef } from '../ports.ts';
import type { ActiveTraining, FollowOutcome } from '../services/github/cluster-training.ts';

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
    return `${repo.owner}/${repo.repo}#${key}`;
  }

  follow(installation: number, repo: RepoRef, run: ActiveTraining): void {
    this.active.set(ActiveTrainings.id(repo, run.key), { installation, repo, run });
  }

  /** Forgets the run once its outcome says it ended; remembers why it is stuck, said once. */
  update(repo: RepoRef, run: ActiveTraining, outcome: FollowOutcome): void {
    const id = ActiveTrainings.id(repo, run.key);
    const followed = this.active.get(id);
    if (outcome === 'running') {
      if (followed) followed.run = { sha: run.sha, branch: run.branch, key: run.key };
    } else if (typeof outcome === 'object' && 'stuck' in outcome) {
      if (followed) followed.run = { ...run, stuck: outcome.stuck };
    } else this.active.delete(id);
  }

  list(): Followed[] {
    return [...this.active.values()];
  }
}
