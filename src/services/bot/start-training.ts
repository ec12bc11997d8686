import { CONFIG_PATH } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { codeSpan } from '../../core/markdown.ts';
import { checkTrainingPolicy, PolicyError } from '../../core/policy.ts';
import { changeTrains } from '../../core/train-paths.ts';
import { runKey, TRAIN_CHECK } from '../../core/training-run.ts';
import type { CheckRunUpdate, Logger, RepoRef, Scm } from '../../ports.ts';
import { isClusterBackend, startClusterRun, type ClusterTrainingDeps } from './cluster-training.ts';
import { configOf, trackedBranch } from './model-repo.ts';
import { repoName } from '../../core/formats.ts';

export interface TrainingTrigger {
  repo: RepoRef;
  sha: string;
  branch: string;
  /** The repo's default branch, when the event names it: its config says which branches train (model-repo.ts). */
  defaultBranch?: string;
  reason: 'push' | 'retrain' | 'drift';
  /** Drift evidence or a comment link, passed to the run. */
  context?: string;
  /** Tells triggers of the same reason apart (a comment id, a drift window); same key, one run. */
  occurrence?: string;
  /** The files a push changed, when GitHub listed them all; matched against `train.paths`. */
  changedFiles?: readonly string[];
}

export type TrainingStart =
  | 'paths-unchanged'
  | 'superseded'
  | 'not-allowed'
  | 'started'
  | 'already-started'
  | 'start-failed'
  | 'not-a-model-repo'
  | 'untracked-branch'
  | 'invalid-config';

/**
 * Starts training for a commit:
 * 1. read `.github/edgeship.yml` at the commit; a broken config fails `edgeship/train` with the fix;
 * 2. skip branches the default branch's config does not track (a writer's branch cannot track
 *    itself), and pushes that change no file of `train.paths` (a release merge);
 * 3. skip when a check run of the commit carries this run key (a redelivered event, running or
 *    done; each trigger of a commit opens its own), or, for a push, when the commit has one at all
 *    or is no longer its branch's head (a neutral check says which commit trains instead);
 *    fail it when the operator policy does not allow the cluster training the config asks for;
 * 4. open `edgeship/train` queued, dispatch the workflow (whose concurrency group cancels the older
 *    unfinished run on the branch: templates/workflows) and mark it in progress; a retake that finds
 *    it still queued dispatches only when no run carries the key; or start the Job or Kubeflow
 *    run, cancelling older ones on the branch (cluster-training.ts).
 */
export async function startTraining(
  deps: { scm: Scm; log: Logger } & ClusterTrainingDeps,
  trigger: TrainingTrigger,
): Promise<TrainingStart> {
  const { scm } = deps;
  const { repo, sha } = trigger;
  // The config and the check run of this commit (and for a push, where its branch is now), in one read.
  const {
    files,
    check: existing,
    branchHead,
  } = await scm.ask(repo, {
    files: { ref: sha, paths: [CONFIG_PATH] },
    check: { sha, name: TRAIN_CHECK },
    ...(trigger.reason === 'push' && { branch: trigger.branch }),
  });
  let config;
  try {
    config = configOf(repo, sha, files.get(CONFIG_PATH));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Known absent: created at once; present: compared first, so a replayed push writes nothing.
    await scm.ensureCheckRun(repo, {
      ...(!existing && { id: null }),
      name: TRAIN_CHECK,
      headSha: sha,
      status: 'completed',
      conclusion: 'failure',
      title: 'Invalid .github/edgeship.yml',
      summary: 'Training did not start: the config has errors. Fix them and push again.',
      text: error.issues.map((issue) => `- ${issue}`).join('\n'),
    });
    return 'invalid-config';
  }
  if (!config) return 'not-a-model-repo';
  if (trigger.reason === 'push' && !(await trackedBranch(scm, repo, trigger.branch, config, trigger.defaultBranch)))
    return 'untracked-branch';
  const key = runKey(config.model, sha, `${trigger.reason}:${trigger.occurrence ?? ''}`);
  // A check still queued was opened by a replica that may have stopped before its dispatch or
  // after it: the run's name says which, and the check is taken over rather than opened again.
  const unconfirmed = isClusterBackend(config) ? undefined : existing?.queued.find((check) => check.key === key);
  if (unconfirmed && (await scm.dispatchedRun(repo, config.train.workflow, trigger.branch, key))) {
    await scm.ensureCheckRun(repo, trainingCheck(unconfirmed.id, config, trigger, key));
    return 'already-started';
  }
  // Each trigger of a commit gets a check run of its own, so a redelivered trigger finds its key
  // among them however many came since; a push finds any: its commit was looked at already.
  if (!unconfirmed && (existing?.keys.includes(key) || (trigger.reason === 'push' && existing)))
    return 'already-started';
  const checkId = unconfirmed?.id ?? null;
  // Not trained, and the check says why: a replay finds it and does nothing.
  const notTrained = (conclusion: 'neutral' | 'failure', title: string, summary: string) =>
    scm.ensureCheckRun(repo, {
      id: checkId,
      name: TRAIN_CHECK,
      headSha: sha,
      status: 'completed',
      conclusion,
      externalId: key,
      title,
      summary,
    });
  if (trigger.reason === 'push' && branchHead !== sha) {
    // The branch moved on before this push was taken (a redelivery, a burst of pushes): its newer
    // head trains. Dispatched now, this commit's run would cancel the head's (the workflow's
    // concurrency group) and then be superseded itself, leaving the head untrained.
    const now = branchHead ? `is at ${branchHead.slice(0, 7)} now, which trains instead` : 'is gone';
    await notTrained('neutral', 'Superseded', `Not trained: ${codeSpan(trigger.branch)} ${now}.`);
    return 'superseded';
  }
  if (trigger.reason === 'push' && !changeTrains(config.train.paths, trigger.changedFiles)) {
    // Recorded as a neutral check, so a resync knows this head was looked at and not trained on purpose.
    await notTrained(
      'neutral',
      'Not trained',
      `This push changed no file that \`train.paths\` (${config.train.paths.join(', ')}) trains on, such as the merge of a release PR.`,
    );
    return 'paths-unchanged';
  }
  try {
    checkTrainingPolicy(deps.policy, repoName(repo), config);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    await notTrained('failure', 'Not allowed by the operator policy', `Training did not start. ${error.message}.`);
    return 'not-allowed';
  }
  if (isClusterBackend(config)) {
    const run = {
      key,
      sha,
      branch: trigger.branch,
      reason: trigger.reason,
      ...(trigger.context && { context: trigger.context }),
    };
    return startClusterRun(deps, repo, config, run, existing?.id);
  }
  // Queued until the dispatch is made, so a replica stopped in between leaves a trace a retake
  // resolves (above) instead of a check that says training runs when none was dispatched.
  const id =
    checkId ??
    (await scm.ensureCheckRun(repo, {
      ...trainingCheck(null, config, trigger, key),
      status: 'queued',
      summary: `Dispatching workflow \`${config.train.workflow}\` for ${sha.slice(0, 7)} (${trigger.reason}); run key \`${key}\`.`,
    }));
  await scm.dispatchWorkflow(repo, config.train.workflow, trigger.branch, {
    sha,
    run_key: key,
    reason: trigger.reason,
    ...(trigger.context && { context: trigger.context.slice(0, 1000) }),
  });
  await scm.ensureCheckRun(repo, trainingCheck(id, config, trigger, key));
  return 'started';
}

/** The check of a dispatched training workflow. */
function trainingCheck(
  id: number | null,
  config: { model: string; train: { workflow: string } },
  trigger: TrainingTrigger,
  key: string,
): CheckRunUpdate {
  return {
    id,
    name: TRAIN_CHECK,
    headSha: trigger.sha,
    status: 'in_progress',
    externalId: key,
    title: `Training ${config.model}`,
    summary: `Workflow \`${config.train.workflow}\` was dispatched for ${trigger.sha.slice(0, 7)} (${trigger.reason}); run key \`${key}\`.`,
  };
}
