import type { RepoRef } from '../ports.ts';
import type { MergedPull } from '../services/github/release-rollout.ts';
import type { RolloutResult } from '../services/rollout.ts';

interface Active {
  installation: number;
  repo: RepoRef;
  pull: MergedPull;
}

/**
 * The rollouts still going, one per model repo (its newest merged release), for the rollout
 * tick. In memory only: after a restart the resync finds them again in the GitOps repo.
 */
export class ActiveRollouts {
  private readonly active = new Map<string, Active>();

  /** Tracks the release: its rollout goes on. */
  track(installation: number, repo: RepoRef, pull: MergedPull): void {
    this.active.set(`${repo.owner}/${repo.repo}`, { installation, repo, pull });
  }

  /** Tracks the release while its rollout goes on, forgets it once the rollout ended. */
  update(installation: number | undefined, repo: RepoRef, pull: MergedPull, result: RolloutResult | 'not-a-release' | 'refused'): void {
    const key = `${repo.owner}/${repo.repo}`;
    const going = typeof result === 'object' && result.status === 'rolling-out' && result.action.kind !== 'superseded';
    if (going && installation !== undefined) this.track(installation, repo, pull);
    else if (this.active.get(key)?.pull.number === pull.number) this.active.delete(key);
  }

  list(): Active[] {
    return [...this.active.values()];
  }
}
