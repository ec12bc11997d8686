import { createHash, createHmac } from 'node:crypto';
import type { EdgeshipConfig } from './config.ts';

/** The check run that follows a commit's training, on the commit. */
export const TRAIN_CHECK = 'edgeship/train';
/** The workflow artifact a training run uploads its report in. */
export const REPORT_ARTIFACT = 'edgeship-report';

/**
 * Key of one training run: model, commit and reason. Redelivered events compute the same key,
 * so they find the run the first delivery started instead of starting another.
 */
export function runKey(model: string, sha: string, reason = 'push'): string {
  return `${model}-${sha.slice(0, 12)}-${createHash('sha256').update(`${model}\n${sha}\n${reason}`).digest('hex').slice(0, 8)}`;
}

/** The model a run key belongs to (runKey's shape), or undefined for anything else. */
export const modelOfRunKey = (key: string) => /^([a-z0-9-]+)-[0-9a-f]{12}-[0-9a-f]{8}$/.exec(key)?.[1];

/** One training run the app starts on a cluster backend (a Kubernetes Job, a Kubeflow run). */
export interface ClusterRun {
  /** The run key: the same commit and reason always give the same key. */
  key: string;
  model: string;
  /** `owner/name` of the model repo. */
  repo: string;
  sha: string;
  branch: string;
  reason: string;
  /** Drift evidence or a comment link. */
  context?: string;
  /** Where the run clones the model repo from. */
  repoUrl: string;
  /** Where the run may report that it finished, with a token for this run only. */
  callback?: { url: string; token: string };
}

/** The environment a cluster run gets; `edgeship cloud-run` reads the same names. */
export function runEnvironment(run: ClusterRun): Record<string, string> {
  return {
    EDGESHIP_REPO_URL: run.repoUrl,
    EDGESHIP_SHA: run.sha,
    EDGESHIP_BRANCH: run.branch,
    EDGESHIP_RUN_KEY: run.key,
    EDGESHIP_REASON: run.reason,
    ...(run.context && { EDGESHIP_CONTEXT: run.context.slice(0, 1000) }),
    ...(run.callback && { EDGESHIP_CALLBACK_URL: run.callback.url, EDGESHIP_CALLBACK_TOKEN: run.callback.token }),
  };
}

/** The OCI tag a cluster run stores its evaluation report under, in the model's repository. */
export const reportTag = (key: string) => `report-${key}`;

/** Where the app finds the report of a run: `<artifacts.repository>/<model>:report-<key>`. */
export const reportReference = (config: EdgeshipConfig, key: string) =>
  `${config.artifacts.repository.replace(/\/+$/, '')}/${config.model}:${reportTag(key)}`;

const shortHash = (text: string, length: number) => createHash('sha256').update(text).digest('hex').slice(0, length);

/** A run's Job name: a DNS label from the run key, so a redelivered event finds the same Job. */
export const jobName = (key: string) => `train-${key.slice(0, 40).replace(/-+$/, '')}-${shortHash(key, 10)}`;

/** Label value for a branch (branch names may hold characters labels cannot). */
export const branchLabel = (branch: string) => shortHash(branch, 16);

/** The name a Kubeflow run is created under: found again by it, never started twice. */
export const kubeflowRunName = (key: string) => `edgeship-${key}`;

/** The phase of a cluster run and, once it failed, why. */
export type ClusterRunState =
  | {
      phase: 'running';
      url?: string;
      /** Why it does not make progress yet: unschedulable, an image that does not pull, a missing secret. */ stuck?: string;
    }
  | { phase: 'succeeded'; url?: string }
  | { phase: 'failed'; reason: string; details?: string; url?: string }
  | { phase: 'missing' };

/** The token a run's callback carries: an HMAC of its key, so it is good for that run only. */
export const callbackToken = (secret: string, key: string) => createHmac('sha256', secret).update(key).digest('hex');

/**
 * The token an edge site sends its drift evidence to the app with: good for one model of one
 * repo at one site, so a gateway holds nothing that could act elsewhere (no GitHub token).
 */
export const siteDriftToken = (secret: string, repo: string, model: string, site: string) =>
  createHmac('sha256', secret).update(`edgeship-drift\n${repo.toLowerCase()}\n${model}\n${site}`).digest('hex');
