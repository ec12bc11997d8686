import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EdgeshipConfig } from '../../core/config.ts';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import type { OperatorPolicy } from '../../core/policy.ts';
import { fenced } from '../../core/markdown.ts';
import { callbackToken, reportReference, TRAIN_CHECK, type ClusterRun } from '../../core/training-run.ts';
import type { Logger, RepoRef, Scm, TrainingCluster } from '../../ports.ts';
import { readConfigAt } from './model-repo.ts';
import { parseEvaluationReport } from '../../core/report-schema.ts';
import { releaseFromReport, supersede, type ReleasePrDeps } from './release-pr.ts';
import { repoName } from '../../core/formats.ts';

/** A training run on a cluster that the app follows until it finished. */
export interface ActiveTraining {
  sha: string;
  branch: string;
  key: string;
  /** Why it was stuck when the check run last said so. */
  stuck?: string;
  /** The config at `sha`, once read: a commit's config never changes. */
  config?: EdgeshipConfig;
}

export interface ClusterTrainingDeps {
  /** The operator's policy: which endpoints, namespaces, images and secrets a config may use. */
  policy: OperatorPolicy;
  /** The cluster a config trains on (train.backend kubernetes or kubeflow), when the app can reach it. */
  trainingFor?: (config: EdgeshipConfig) => TrainingCluster | undefined;
  /** Where runs report that they finished (the app's /api/edgeship/training) and the secret their tokens derive from. */
  callback?: { url: string; secret: string };
  /** Told of each run started, so the app follows it. */
  onClusterRun?: (run: ActiveTraining) => void;
}

export const isClusterBackend = (config: EdgeshipConfig) =>
  config.train.backend === 'kubernetes' || config.train.backend === 'kubeflow';

const ACCESS_HINT: Record<string, string> = {
  kubernetes:
    'Give the app access to the training cluster: EDGESHIP_TRAINING_KUBECONFIG (and EDGESHIP_TRAINING_CONTEXT) or EDGESHIP_TRAINING_IN_CLUSTER=true.',
  kubeflow: 'Give the app access to Kubeflow Pipelines: KFP_TOKEN, or run it with a service account token for KFP.',
};

/**
 * Starts a run on the config's cluster backend, after `edgeship/train` records its key:
 * cancels the branch's older unfinished runs, then creates the Job or pipeline run (an existing
 * one for the key is found, not duplicated). A start the cluster refuses (missing namespace,
 * RBAC, unknown pipeline) fails the check run with the reason.
 */
export async function startClusterRun(
  deps: { scm: Scm; log: Logger } & ClusterTrainingDeps,
  repo: RepoRef,
  config: EdgeshipConfig,
  run: Omit<ClusterRun, 'repoUrl' | 'model' | 'repo' | 'callback'>,
  checkId?: number,
): Promise<'started' | 'start-failed'> {
  const { scm, log } = deps;
  const check = {
    ...(checkId !== undefined && { id: checkId }),
    name: TRAIN_CHECK,
    headSha: run.sha,
    externalId: run.key,
  };
  const cluster = deps.trainingFor?.(config);
  if (!cluster) {
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'Training could not start',
      summary: `train.backend is ${config.train.backend}, but this app has no access to it. ${ACCESS_HINT[config.train.backend] ?? ''}`,
    });
    return 'start-failed';
  }
  const full: ClusterRun = {
    ...run,
    model: config.model,
    repo: repoName(repo),
    repoUrl: config.train.repoUrl ?? `https://github.com/${repoName(repo)}.git`,
    ...(deps.callback && { callback: { url: deps.callback.url, token: callbackToken(deps.callback.secret, run.key) } }),
  };
  try {
    const cancelled = await cluster.cancelSuperseded(config.model, run.branch, run.key);
    if (cancelled.length > 0)
      log.info({ model: config.model, branch: run.branch, cancelled }, 'Cancelled superseded training runs');
    const started = await cluster.start(full);
    // Followed before the check run says so: a watch event that comes right after is not lost.
    deps.onClusterRun?.({ sha: run.sha, branch: run.branch, key: run.key });
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'in_progress',
      title: `Training ${config.model}`,
      summary: `${started.created ? 'Started' : 'Found the already started'} ${cluster.where(run.key)} for ${run.sha.slice(0, 7)} (${run.reason}); run key \`${run.key}\`.`,
      ...(started.url && { detailsUrl: started.url }),
    });
  } catch (error) {
    if (!(error instanceof EdgeshipError)) throw error;
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'Training could not start',
      summary: error.message,
    });
    return 'start-failed';
  }
  return 'started';
}

export type FollowOutcome =
  | 'unchanged'
  | { following: ActiveTraining }
  | 'replaced'
  | 'superseded'
  | 'failed'
  | 'no-report'
  | { pullRequest: number; created: boolean; passed: boolean };

/**
 * One look at a cluster run the app follows. While it runs, only the cluster is asked (the
 * config at the commit is read once). The check run changes when there is something to say:
 * a pod that cannot start (and that it started after all); once the run ended, superseded when
 * the branch moved on, the failure reason and the last log lines when it failed or was
 * deleted, otherwise its report is pulled from the registry and becomes the release PR, as an
 * Actions run's does. A check run that a newer run of the commit took over ends the following.
 */
export async function followClusterRun(
  deps: ReleasePrDeps & ClusterTrainingDeps,
  repo: RepoRef,
  run: ActiveTraining,
): Promise<FollowOutcome> {
  const { scm } = deps;
  const config = run.config ?? (await readConfigAt(scm, repo, run.sha));
  const cluster = config && deps.trainingFor?.(config);
  if (!config || !cluster) return 'replaced';
  const state = await cluster.state(run.key);
  const following: ActiveTraining = { sha: run.sha, branch: run.branch, key: run.key, config };
  if (state.phase === 'running' && state.stuck === run.stuck)
    return { following: { ...following, ...(run.stuck && { stuck: run.stuck }) } };
  const current = await scm.findCheckRun(repo, run.sha, TRAIN_CHECK);
  if (current?.externalId !== run.key || current.status === 'completed') return 'replaced';
  if (state.phase === 'running') {
    // A pod that cannot be scheduled or started would otherwise wait silently for its deadline.
    const summary = state.stuck
      ? `${cluster.where(run.key)} has not started: ${state.stuck}. It keeps trying until train.timeoutMinutes (${config.train.timeoutMinutes}) runs out.`
      : `${cluster.where(run.key)} is running.`;
    await scm.ensureCheckRun(repo, {
      id: current.id,
      name: TRAIN_CHECK,
      headSha: run.sha,
      externalId: run.key,
      status: 'in_progress',
      title: `Training ${config.model}${state.stuck ? ': waiting' : ''}`,
      summary,
      ...(state.url && { detailsUrl: state.url }),
    });
    return { following: { ...following, ...(state.stuck && { stuck: state.stuck }) } };
  }
  const url = state.phase === 'missing' ? undefined : (state.url ?? cluster.url(run.key));
  const check = {
    id: current.id,
    name: TRAIN_CHECK,
    headSha: run.sha,
    externalId: run.key,
    ...(url && { detailsUrl: url }),
  };
  if (await supersede(scm, repo, check, run.branch)) return 'superseded';
  if (state.phase === 'failed' || state.phase === 'missing') {
    const reason = state.phase === 'failed' ? state.reason : 'it was deleted before the app saw it finish';
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'Training failed',
      summary: `${cluster.where(run.key)}: ${reason}.`,
      ...(state.phase === 'failed' &&
        state.details && { text: `Last lines of the log:\n\n${fenced(state.details.slice(-6000), 6000)}` }),
    });
    return 'failed';
  }
  const reference = reportReference(config, run.key);
  const evaluated = await pullReport(deps, reference).catch(async (error: unknown) => {
    // A registry that is down or overloaded is asked again at the next look.
    if (/cannot reach|answered (5\d\d|429)/.test(messageOf(error))) throw error;
    await scm.ensureCheckRun(repo, {
      ...check,
      status: 'completed',
      conclusion: 'failure',
      title: 'No evaluation report',
      summary: `${cluster.where(run.key)} succeeded, but its report could not be read from \`${reference}\`: ${messageOf(error)}. The run's last step must be \`edgeship cloud-run\` (or push the report there).`,
    });
    return undefined;
  });
  if (!evaluated) return 'no-report';
  return releaseFromReport(deps, repo, { config, sha: run.sha, branch: run.branch, ...(url && { url }), evaluated });
}

async function pullReport(deps: ReleasePrDeps, reference: string) {
  const directory = await mkdtemp(join(tmpdir(), 'edgeship-report-'));
  try {
    const pulled = await deps.storeFor(reference).pull(reference, directory);
    const file = pulled.files['report.json'];
    if (!file) throw new EdgeshipError('the artifact holds no report.json');
    return parseEvaluationReport(await readFile(file, 'utf8'), `report.json of ${reference}`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
