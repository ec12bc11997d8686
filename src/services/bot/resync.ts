import { parseReleaseBranch, releaseBranchPrefix } from '../../core/release-branch.ts';
import { TRAIN_CHECK } from '../../core/training-run.ts';
import type { RepoRef } from '../../ports.ts';
import { isClusterBackend, type ActiveTraining, type ClusterTrainingDeps } from './cluster-training.ts';
import { startTraining } from './start-training.ts';
import { driftEnvironment, parseEvidence, takeDriftEvent } from './drift.ts';
import { messageOf } from '../../core/errors.ts';
import { commandMarker, commandState, type ClaimClock } from './command-claim.ts';
import { runCommand } from './commands.ts';
import { readConfigAt } from './model-repo.ts';
import { ensureReleasePr } from './release-pr.ts';
import { newestMergedRelease, reconcileRelease, type MergedPull, type ReleaseRolloutDeps } from './release-rollout.ts';
import { repoName } from '../../core/formats.ts';

export interface ResyncDeps extends ReleaseRolloutDeps, ClusterTrainingDeps, ClaimClock {
  storeFor: Parameters<typeof ensureReleasePr>[0]['storeFor'];
  /** The clock that decides which heads are recent enough to train after a restart. */
  now?: () => number;
  /**
   * With replicas: the heads the last resync found without a check, by `owner/name@branch`.
   * Another replica may be taking such a head's push right now (its queue is its own), so a head
   * is trained as lost only when the resync before found it so too.
   */
  uncheckedHeads?: Map<string, string>;
}

/** A tracked head younger than this with no `edgeship/train` check lost its push: train it. */
export const LOST_PUSH_WINDOW_MS = 24 * 60 * 60_000;

export interface ResyncOutcome {
  /** Merged release PRs whose deploy step had never completed. */
  deployed: number[];
  released: number[];
  /** Tracked branches whose head had no `edgeship/train` check: their push was lost, and now trains. */
  trained: string[];
  /** Drift events recorded but never taken (the app stopped in between): taken now. */
  drift: number[];
  /** `/edgeship` comments whose webhook was answered but that were never taken: taken now. */
  commands: number[];
  /** The merged release whose rollout is still going, for the rollout tick. */
  rollingOut?: MergedPull;
  /** Cluster training runs still going, for the training tick. */
  training: ActiveTraining[];
}

/**
 * Finishes work whose webhook was lost or whose process died, from what GitHub shows:
 * 1. the newest merged release PR: its rollout is reconciled (a merge whose deploy step never
 *    completed has no deployments yet, and gets its first wave now);
 * 2. a successful training run for the head of a tracked branch with no release PR for that
 *    commit: its workflow_run event was lost, so make the release PR.
 * 3. with a cluster backend: the runs `edgeship/train` shows in progress on the heads of tracked
 *    branches, for the training tick to follow again (their Job or pipeline run is the truth).
 * 4. a recent head of a tracked branch with no `edgeship/train` check: its push was answered and
 *    lost; it trains now (train.paths still decides).
 * 5. a drift event recorded within the cooldown but never taken: its training starts now;
 * 6. a recent `/edgeship` comment nobody took (no answer, no claim but one its replica left
 *    when it died): the command runs now.
 * The steps are idempotent; a resync with nothing unfinished changes nothing.
 */
export async function resyncRepo(deps: ResyncDeps, repo: RepoRef, defaultBranch: string): Promise<ResyncOutcome> {
  const { scm } = deps;
  const outcome: ResyncOutcome = { deployed: [], released: [], trained: [], drift: [], commands: [], training: [] };
  const head = await scm.branchHead(repo, defaultBranch);
  const config = head ? await readConfigAt(scm, repo, head) : undefined;
  if (!config) return outcome;
  const prefix = releaseBranchPrefix(config.model);

  const merged = await newestMergedRelease(scm, repo, config.model, defaultBranch);
  if (merged) {
    const undeployed = (await scm.deploymentEnvironments(repo, merged.mergeSha)).length === 0;
    const result = await reconcileRelease(deps, repo, merged, { recheckSignature: undeployed });
    if (undeployed) outcome.deployed.push(merged.number);
    if (typeof result === 'object' && result.status === 'rolling-out' && result.action.kind !== 'superseded')
      outcome.rollingOut = merged;
  }

  const releases = [
    ...(await scm.listPullRequests(repo, prefix, 'open')),
    ...(await scm.listPullRequests(repo, prefix, 'closed')),
  ];
  for (const branch of config.train.branches) {
    const sha = await scm.branchHead(repo, branch);
    if (!sha) continue;
    if (isClusterBackend(config)) {
      const check = await scm.findCheckRun(repo, sha, TRAIN_CHECK);
      if (!check && (await trainLostPush(deps, repo, defaultBranch, branch, sha))) outcome.trained.push(branch);
      else if (check?.status !== 'completed' && check?.externalId)
        outcome.training.push({ sha, branch, key: check.externalId });
      continue;
    }
    const run = await scm.latestRun(repo, config.train.workflow, branch);
    if (run?.headSha !== sha) {
      // No check: the push was lost; a queued one: its replica stopped before it dispatched, or
      // after (start-training.ts tells them apart by the run's name).
      const check = await scm.findCheckRun(repo, sha, TRAIN_CHECK);
      if ((!check || check.status === 'queued') && (await trainLostPush(deps, repo, defaultBranch, branch, sha)))
        outcome.trained.push(branch);
      continue;
    }
    if (run.status !== 'completed' || run.conclusion !== 'success') continue;
    if (releases.some((pull) => parseReleaseBranch(pull.head)?.shortSha === run.headSha.slice(0, 7))) continue;
    const result = await ensureReleasePr(deps, repo, run);
    if (typeof result === 'object') outcome.released.push(result.pullRequest);
  }
  const cooldownMs = config.drift.cooldownMinutes * 60_000;
  for (const event of await scm.listDeployments(repo, undefined, 30)) {
    if (
      !event.environment.startsWith(driftEnvironment(config.model, '')) ||
      (deps.now?.() ?? Date.now()) - Date.parse(event.createdAt) > cooldownMs
    )
      continue;
    if ((await scm.deploymentState(repo, event.id)) !== 'queued') continue;
    let evidence;
    try {
      evidence = parseEvidence(
        (event.payload as { evidence?: unknown } | null)?.evidence,
        `drift event ${event.id} payload.evidence`,
      );
    } catch (error) {
      await scm.setDeploymentStatus(repo, event.id, 'failure', messageOf(error));
      continue;
    }
    await takeDriftEvent(deps, repo, {
      id: event.id,
      sha: /^[0-9a-f]{40}$/.test(event.ref) ? event.ref : (head as string),
      branch: defaultBranch,
      evidence,
    });
    outcome.drift.push(event.id);
  }
  const now = deps.now?.() ?? Date.now();
  const comments = await scm.recentComments(repo, new Date(now - LOST_PUSH_WINDOW_MS).toISOString());
  for (const command of comments.filter(
    (comment) => !comment.bot && comment.body.trimStart().startsWith('/edgeship'),
  )) {
    const marked = comments.filter(
      (comment) => comment.bot && comment.issue === command.issue && comment.body.includes(commandMarker(command.id)),
    );
    if (commandState(marked, deps) !== 'free') continue;
    if ((await runCommand(deps, repo, { ...command, branch: defaultBranch })) !== 'already-taken')
      outcome.commands.push(command.id);
  }
  if (
    outcome.deployed.length +
      outcome.released.length +
      outcome.trained.length +
      outcome.drift.length +
      outcome.commands.length >
    0
  ) {
    const { deployed, released, trained, drift, commands } = outcome;
    deps.log.info(
      { repo: repoName(repo), deployed, released, trained, drift, commands },
      'Resync finished unfinished work',
    );
  }
  return outcome;
}

/**
 * A recent head of a tracked branch with no `edgeship/train` check run and no training run: the app answered its push
 * and stopped before acting. Start what the push would have started, with the files the commit
 * changed, so a release merge still does not train.
 */
async function trainLostPush(
  deps: ResyncDeps,
  repo: RepoRef,
  defaultBranch: string,
  branch: string,
  sha: string,
): Promise<boolean> {
  const seen = `${repoName(repo)}@${branch}`;
  if (deps.uncheckedHeads && deps.uncheckedHeads.get(seen) !== sha) {
    deps.uncheckedHeads.set(seen, sha);
    return false;
  }
  deps.uncheckedHeads?.delete(seen);
  const changes = await deps.scm.commitChanges(repo, sha);
  if ((deps.now?.() ?? Date.now()) - Date.parse(changes.date) > LOST_PUSH_WINDOW_MS) return false;
  const started = await startTraining(deps, {
    repo,
    sha,
    branch,
    defaultBranch,
    reason: 'push',
    ...(changes.files && { changedFiles: changes.files }),
  });
  return started === 'started';
}
