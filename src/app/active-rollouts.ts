import { messageOf } from '../core/errors.ts';
import type { Logger, RepoRef, SharedRollout, SharedRollouts } from '../ports.ts';
import type { MergedPull } from '../services/bot/release-rollout.ts';
import type { RolloutResult } from '../services/rollout.ts';
import { repoName } from '../core/formats.ts';

/**
 * The rollouts still going, one per model repo (its newest merged release), for the rollout
 * tick. In memory, and with replicas also in the store they share: a merge that a follower took
 * is stepped by the leader, which adopts what the others recorded before each tick. After a
 * restart the resync finds them again in the GitOps repo.
 */
export class ActiveRollouts {
  private readonly active = new Map<string, SharedRollout>();

  constructor(private readonly shared?: { store: SharedRollouts; log: Logger }) {}

  /** Tracks the release: its rollout goes on. */
  track(installation: number, repo: RepoRef, pull: MergedPull): void {
    const rollout = { installation, repo, pull };
    this.active.set(repoName(repo), rollout);
    this.share(() => this.shared?.store.put(rollout), repo);
  }

  /** Tracks the release while its rollout goes on, forgets it once the rollout ended. */
  update(
    installation: number | undefined,
    repo: RepoRef,
    pull: MergedPull,
    result: RolloutResult | 'not-a-release' | 'refused',
  ): void {
    const key = repoName(repo);
    const going = typeof result === 'object' && result.status === 'rolling-out' && result.action.kind !== 'superseded';
    if (going && installation !== undefined) this.track(installation, repo, pull);
    else {
      if (this.active.get(key)?.pull.number === pull.number) this.active.delete(key);
      this.share(() => this.shared?.store.remove(repo, pull.number), repo);
    }
  }

  /** Takes in the rollouts other replicas recorded (a newer release of a repo wins). */
  async adopt(): Promise<void> {
    if (!this.shared) return;
    const recorded = await this.shared.store.list().catch((error: unknown) => {
      this.shared?.log.warn({ err: messageOf(error) }, 'Could not read the rollouts other replicas recorded');
      return [];
    });
    for (const rollout of recorded) {
      const key = `${rollout.repo.owner}/${rollout.repo.repo}`;
      const known = this.active.get(key);
      if (!known || known.pull.number < rollout.pull.number) this.active.set(key, rollout);
    }
  }

  list(): SharedRollout[] {
    return [...this.active.values()];
  }

  private share(write: () => Promise<void> | undefined, repo: RepoRef): void {
    void write()?.catch((error: unknown) =>
      this.shared?.log.warn(
        { repo: repoName(repo), err: messageOf(error) },
        'Could not share a rollout with the other replicas; the leader finds it at its next resync',
      ),
    );
  }
}
