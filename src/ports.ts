import type { Target } from './core/config.ts';
import type { GoldenFile, TensorValues } from './core/golden.ts';
import type { SignedFile } from './core/model-signing.ts';
import type { LiveCapacity } from './core/placement.ts';
import type { HardwareProfile } from './core/profiles.ts';
import type { ProfileResult } from './core/profiling.ts';
import type { ModelInspection } from './core/report-schema.ts';
import type { ClusterRun, ClusterRunState } from './core/training-run.ts';

/** Structured log: a fixed message plus fields, as renovate and pino do. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** A logger that drops everything: for the CLI's steps, which say what they did in their output. */
export const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Shows long work to a person; `note` adds a line under the running step. */
export interface Progress {
  step<T>(title: string, work: (note: (line: string) => void) => Promise<T>): Promise<T>;
}

/** Reads ONNX models: their contract, and their outputs for given inputs. */
export interface ModelInspector {
  /** Throws ModelValidationError when the file is missing, truncated or not ONNX. */
  inspect(file: string): Promise<ModelInspection>;
  /** Runs the model once per golden sample and returns its outputs. */
  run(file: string, samples: GoldenFile['samples']): Promise<TensorValues[]>;
}

export interface ProfileOptions {
  runs: number;
  warmup: number;
  /** Size used for symbolic dimensions of the inputs. */
  batch: number;
  /** Rounds the runs are split into (5 by default): the p95 is the median of the rounds' p95s. */
  rounds?: number;
  /** Largest spread of the rounds' p95s, relative to their median, before they are measured again (0.5 by default). */
  tolerance?: number;
  /** Running on the device the profile describes: no speed factor applies. */
  onDevice?: boolean;
}

/** Measures latency and memory of a model under a hardware profile, off the main thread. */
export interface ModelProfiler {
  profile(file: string, name: string, profile: HardwareProfile, options: ProfileOptions): Promise<ProfileResult>;
}

/** One file of a model artifact. */
export interface ArtifactFile {
  /** File name inside the artifact, e.g. `model.onnx`. */
  name: string;
  mediaType: string;
  path: string;
}

export interface PushRequest {
  /** Repository name, the model name. */
  name: string;
  tag: string;
  files: ArtifactFile[];
  /** The artifact's config blob: a JSON summary (model, version, contract, metrics). */
  config: object;
  annotations?: Record<string, string>;
  /**
   * The tag is a version, published once: an existing tag must hold this artifact, or one whose
   * config has the same `identity` value (the same model published before, then returned as it
   * is); anything else is refused. Without it, the tag moves.
   */
  immutable?: { identity: string };
}

export interface PushedArtifact {
  /** Reference pinned by digest, e.g. `registry.example/models/pump@sha256:…`. */
  reference: string;
  digest: string;
  /** The container images of the release, next to the artifact: a KServe modelcar, a self-contained serving image. */
  packages?: { modelcar?: PushedImage; image?: PushedImage };
}

export interface PushedImage {
  reference: string;
  digest: string;
  /** `os/architecture` of each image (one per platform of the base's index). */
  platforms: string[];
}

/** A container image: a base image on the store's registry, pinned by digest, plus one layer of files. */
export interface ImageRequest {
  name: string;
  tag: string;
  base: string;
  files: { path: string; bytes: Uint8Array }[];
  /** RFC 3339; the release's, so the same release gives the same digest. */
  created: string;
  labels: Record<string, string>;
  createdBy: string;
}

export interface PulledArtifact {
  digest: string;
  /** Absolute paths of the pulled files by name. */
  files: Record<string, string>;
  config: unknown;
}

/** Signs a model's files (OpenSSF model signing v1.0): the bundle's text, the artifact's `model.sig`. */
export interface ModelSigner {
  sign(name: string, files: readonly SignedFile[]): Promise<string>;
  /** Signs any in-toto statement (the artifact's build provenance) with the same key: the bundle's text. */
  attest(statement: object): Promise<string>;
}

/**
 * Content attached to an artifact as an OCI 1.1 referrer (a manifest whose `subject` is the
 * artifact): one blob of `mediaType`, listed under `artifactType`, e.g. a model's signature.
 */
export interface Attachment {
  artifactType: string;
  mediaType: string;
  bytes: Buffer;
  annotations?: Record<string, string>;
}

/** An attachment as read back: its blob, and the annotations of the manifest that attached it. */
export interface AttachedBlob {
  bytes: Buffer;
  annotations: Record<string, string>;
}

/** An OCI registry or image layout holding model artifacts. */
export interface ArtifactStore {
  /** Uploads blobs, then the manifest last, so a failed push leaves nothing that refers to a missing blob. */
  push(request: PushRequest): Promise<PushedArtifact>;
  /** Downloads an artifact into `directory`, verifying every digest; nothing is left there on failure. */
  pull(reference: string, directory: string): Promise<PulledArtifact>;
  /** Pushes a container image assembled registry-side; only registries can. */
  pushImage?(request: ImageRequest): Promise<PushedImage>;
  /**
   * Attaches `attachment` to the artifact or image at `reference` (pinned by digest): through
   * the registry's referrers API, or the `sha256-<digest>` fallback tag where it has none.
   * Returns the referrer's digest; attaching the same bytes again changes nothing.
   */
  attach(reference: string, attachment: Attachment): Promise<string>;
  /** The blobs attached to `reference` as `artifactType`, each verified against its digest (at most 16). */
  attached(reference: string, artifactType: string): Promise<AttachedBlob[]>;
  /** The files of the artifact at `reference` (pinned by digest) and their sha256, from its manifest alone. */
  listFiles(reference: string): Promise<{ name: string; sha256: string }[]>;
}

export interface FileWrite {
  path: string;
  content: string;
}

/**
 * A declarative change: reads the current files and returns what they should become. It may run
 * more than once, since a compare-and-swap conflict re-reads and re-applies it.
 */
export type GitOpsChange = (read: (path: string) => Promise<string | undefined>) => Promise<FileWrite[]>;

/** The GitOps repo, written with compare-and-swap commits. */
export interface GitOpsRepo {
  read(path: string): Promise<string | undefined>;
  /** A file as it was at a commit; undefined when either is unknown. */
  readAt(path: string, revision: string): Promise<string | undefined>;
  /**
   * Applies the change on top of the current head in one commit. Returns undefined when no file
   * would change (no empty commits); never force-pushes.
   */
  apply(change: GitOpsChange, message: string): Promise<{ sha: string; files: string[] } | undefined>;
}

/** What Argo CD reports for one target's Application. */
export interface FleetState {
  sync: 'Synced' | 'OutOfSync' | 'Unknown';
  health: 'Healthy' | 'Progressing' | 'Degraded' | 'Suspended' | 'Missing' | 'Unknown';
  /** The GitOps commit the Application is synced to. */
  revision?: string;
  /** The last sync operation failed. */
  syncFailed?: boolean;
  /** Since when (ms since epoch) it has been Healthy, or its last sync finished, whichever is later. */
  healthySince?: number;
}

/** The fleet as the GitOps controller (Argo CD) sees it. */
export interface FleetStatus {
  states(targets: string[]): Promise<Map<string, FleetState>>;
}

/** Live room on edge clusters, by target name; targets without a cluster to read are absent. */
export interface ClusterCapacity {
  capacity(targets: Target[]): Promise<Map<string, LiveCapacity>>;
}

/** A release as a model registry records it. */
export interface RegistryRelease {
  model: string;
  version: string;
  digest: string;
  /** Where the artifact is: the OCI reference pinned by digest. */
  source: string;
  tags: Record<string, string>;
}

/** A model registry that mirrors the GitOps repo (MLflow). */
export interface ModelRegistry {
  /** The registry's version of the release, registered when missing. */
  ensureVersion(release: RegistryRelease): Promise<string>;
  /** The registry's version that holds this artifact, if any. */
  versionOf(model: string, digest: string): Promise<string | undefined>;
  setAlias(model: string, alias: string, version: string): Promise<void>;
}

export interface TrainingRequest {
  /** Checkout of the model repo at the commit to train. */
  directory: string;
  command: string;
  /** Directory (relative to `directory`) the command writes its outputs to. */
  outputs: string;
  env?: Record<string, string>;
}

/** Paths of what training wrote. */
export interface TrainingOutputs {
  directory: string;
  model: string;
  metrics: string;
  golden: string;
  reference: string;
}

/** Runs the user's training code somewhere and hands back its outputs. */
export interface TrainingBackend {
  train(request: TrainingRequest, onOutput: (line: string) => void): Promise<TrainingOutputs>;
}

/** A run a cluster backend started, or found already started for its key. */
export interface StartedRun {
  created: boolean;
  /** The Job's or the run's name on the backend. */
  name: string;
  url?: string;
}

/** Training on a cluster: Kubernetes Jobs or Kubeflow Pipelines runs, found by run key. */
export interface TrainingCluster {
  /** Starts the run; when its key already started one, finds that one instead. */
  start(run: ClusterRun): Promise<StartedRun>;
  state(key: string): Promise<ClusterRunState>;
  /** Stops the unfinished runs of the model's branch other than `keep`; returns their keys. */
  cancelSuperseded(model: string, branch: string, keep: string): Promise<string[]>;
  /** Where the run is and how to read its logs, for the check run. */
  where(key: string): string;
  /** A link to the run, when the backend has one. */
  url(key: string): string | undefined;
}

/** A repository on the forge. */
export interface RepoRef {
  owner: string;
  repo: string;
}

export type CheckConclusion = 'success' | 'failure' | 'neutral' | 'cancelled' | 'action_required';

export interface CheckRunUpdate {
  /** The check run to update, when the caller already found it; null when it knows there is none. */
  id?: number | null;
  name: string;
  headSha: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: CheckConclusion;
  title: string;
  summary: string;
  text?: string;
  detailsUrl?: string;
  /** Ties the check to a training run, e.g. the run key. */
  externalId?: string;
}

export interface DeploymentSpec {
  environment: string;
  description: string;
  payload: object;
  /** `pending`: no status is written (GitHub shows a deployment without one as pending), and an existing deployment is left as it is. */
  status: { state: 'pending' | 'success' | 'failure' | 'inactive'; description: string; url?: string };
}

export interface PullRequestSpec {
  head: string;
  base: string;
  title: string;
  body: string;
}

export interface PullRequestInfo {
  number: number;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  head: string;
  /** The head commit (at the merge, for a merged PR) and the branch it merges into. */
  headSha: string;
  base: string;
  mergeSha?: string;
}

export interface WorkflowRunInfo {
  id: number;
  headSha: string;
  headBranch: string;
  path: string;
  status: string;
  conclusion: string | null;
  url: string;
}

/**
 * The forge (GitHub) as the release services need it. Every `ensure` converges: it looks
 * before it creates, so a redelivered event changes nothing the first one already did.
 */
/** What one read of a repository asks at once (GitHubScm: one GraphQL query). */
export interface RepoQuestions {
  /** Files at a ref; a missing file maps to undefined. */
  files?: { ref: string; paths: readonly string[] };
  /** This app's latest check run of this name on a commit. */
  check?: { sha: string; name: string };
  /** A branch, for its head. */
  branch?: string;
  /** Open pull requests whose head branch starts with this. */
  openPulls?: string;
  /** Open issues with this label, with their bodies and last editors. */
  issues?: string;
}

export interface RepoAnswers {
  files: Map<string, string | undefined>;
  /**
   * The newest check run of the name on the commit, with the external ids (run keys) of every
   * one of that name there, and those still queued (a dispatch not yet confirmed: start-training.ts);
   * absent when the question was not asked; null when there is none.
   */
  check?: {
    id: number;
    status: string;
    conclusion: string | null;
    externalId: string | null;
    keys: string[];
    queued: { id: number; key: string }[];
  } | null;
  branchHead?: string;
  openPulls?: PullRequestInfo[];
  issues?: { number: number; title: string; url: string; body: string; editor?: { login: string; bot: boolean } }[];
}

/** A comment on an issue or PR. */
export interface IssueComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  /** Written by an app (a GitHub App's bot user), which no person can write as. */
  bot: boolean;
  updatedAt: string;
}

/** A release PR opened from a new branch: the branch at `baseSha` with the files committed on it. */
export interface NewPullRequest extends PullRequestSpec {
  baseSha: string;
  files: FileWrite[];
  message: string;
}

export interface Scm {
  /** Several questions about a repository in one read, where the forge allows it. */
  ask(repo: RepoRef, questions: RepoQuestions): Promise<RepoAnswers>;
  /**
   * Creates the branch, commits the files on it and opens the PR, in one request where the forge
   * allows it; undefined when it did not, so the caller goes step by step: the branch exists
   * already (a replayed event), or the change is too large for one request. A failure leaves no
   * branch behind.
   */
  openPullRequest(repo: RepoRef, spec: NewPullRequest): Promise<(PullRequestInfo & { created: true }) | undefined>;
  readFile(repo: RepoRef, path: string, ref: string): Promise<string | undefined>;
  /** Many files at one ref in few calls; a missing file maps to undefined. */
  readFiles(repo: RepoRef, paths: readonly string[], ref: string): Promise<Map<string, string | undefined>>;
  branchHead(repo: RepoRef, branch: string): Promise<string | undefined>;
  defaultBranch(repo: RepoRef): Promise<string>;
  /**
   * The review a merge into `branch` needs, as the repo's rulesets say (`GET /rules/branches/{branch}`):
   * the approving reviews required and the ruleset's source; undefined when none is required.
   */
  reviewRule(repo: RepoRef, branch: string): Promise<{ reviews: number; source: string } | undefined>;
  /** A commit's date and the files it changed against its first parent (undefined when GitHub does not list them all). */
  commitChanges(repo: RepoRef, sha: string): Promise<{ date: string; files: string[] | undefined }>;
  /** The latest check run of this name on this commit. */
  findCheckRun(
    repo: RepoRef,
    sha: string,
    name: string,
  ): Promise<{ id: number; status: string; conclusion: string | null; externalId: string | null } | undefined>;
  /** Creates or updates the check run of this name on this commit; answers its id. */
  ensureCheckRun(repo: RepoRef, check: CheckRunUpdate): Promise<number>;
  dispatchWorkflow(repo: RepoRef, workflow: string, ref: string, inputs: Record<string, string>): Promise<void>;
  /**
   * Whether a run of the workflow on the branch was dispatched with this run key: the training
   * workflow's `run-name` carries it (templates/workflows). Looks at the newest 1,000 dispatched runs.
   */
  dispatchedRun(repo: RepoRef, workflow: string, branch: string, key: string): Promise<boolean>;
  /** The files of a run's artifact by name, or undefined when the run has no such artifact. */
  downloadArtifact(repo: RepoRef, runId: number, name: string): Promise<Record<string, Uint8Array> | undefined>;
  /** Creates the branch at `sha` ('created'); an existing branch is left as it is ('exists'). */
  createBranch(repo: RepoRef, branch: string, sha: string): Promise<'created' | 'exists'>;
  /**
   * One commit with the files on top of `expectedHead`; 'stale' when the branch moved on, so the
   * caller can re-read and re-apply.
   */
  commitOnBranch(
    repo: RepoRef,
    branch: string,
    expectedHead: string,
    files: FileWrite[],
    message: string,
  ): Promise<{ sha: string } | 'stale'>;
  ensurePullRequest(repo: RepoRef, spec: PullRequestSpec): Promise<PullRequestInfo & { created: boolean }>;
  /** The newest pull request from exactly this head branch, open or closed. */
  pullRequestOf(repo: RepoRef, branch: string): Promise<PullRequestInfo | undefined>;
  /** Recent pull requests in this state whose head branch starts with `prefix`, newest first. */
  listPullRequests(repo: RepoRef, headPrefix: string, state?: 'open' | 'closed'): Promise<PullRequestInfo[]>;
  /** The newest run of the workflow on the branch. */
  latestRun(repo: RepoRef, workflow: string, branch: string): Promise<WorkflowRunInfo | undefined>;
  /** Deployments to `environment`, newest first (the newest `limit`). */
  listDeployments(
    repo: RepoRef,
    environment: string | undefined,
    limit: number,
  ): Promise<{ id: number; environment: string; ref: string; createdAt: string; payload: unknown }[]>;
  /** A deployment of `ref` to `environment` carrying `payload`, without a status (queued); its id. */
  createDeployment(
    repo: RepoRef,
    ref: string,
    environment: string,
    description: string,
    payload: object,
  ): Promise<number>;
  /** The state of a deployment's newest status; 'queued' when it has none. */
  deploymentState(repo: RepoRef, id: number): Promise<string>;
  setDeploymentStatus(
    repo: RepoRef,
    id: number,
    state: 'in_progress' | 'success' | 'failure' | 'inactive',
    description: string,
  ): Promise<void>;
  /** Environments that have a deployment of `ref`. */
  deploymentEnvironments(repo: RepoRef, ref: string): Promise<string[]>;
  closePullRequest(repo: RepoRef, number: number, comment: string): Promise<void>;
  /** The user's role on the repository: admin, maintain, write, triage, read or none. */
  permissionOf(repo: RepoRef, user: string): Promise<string>;
  /** Adds a comment to an issue or PR; its id. */
  comment(repo: RepoRef, issue: number, body: string): Promise<number>;
  /** Rewrites the body of a comment the app wrote. */
  editComment(repo: RepoRef, id: number, body: string): Promise<void>;
  /** Deletes a comment the app wrote; one already gone counts as deleted. */
  deleteComment(repo: RepoRef, id: number): Promise<void>;
  /** Comments on the repository's issues and PRs updated since `since`, oldest first: people's and apps' alike. */
  recentComments(repo: RepoRef, since: string): Promise<IssueComment[]>;
  /** The comments on the issue or PR that an app wrote (a person cannot write as one) holding this marker, oldest first. */
  markedComments(repo: RepoRef, issue: number, marker: string): Promise<IssueComment[]>;
  /** Adds the comment unless one with the same marker exists. */
  ensureComment(repo: RepoRef, issue: number, marker: string, body: string): Promise<void>;
  /** The open issue with this label and title, if any (paged through every open issue with the label). */
  findIssue(repo: RepoRef, label: string, title: string): Promise<{ number: number; url: string } | undefined>;
  /** An issue's body now, and who edited it last (absent when nobody edited it since it was opened). */
  readIssue(repo: RepoRef, number: number): Promise<{ body: string; editor?: { login: string; bot: boolean } }>;
  createIssue(repo: RepoRef, title: string, body: string, labels: string[]): Promise<{ number: number; url: string }>;
  updateIssue(repo: RepoRef, number: number, body: string): Promise<void>;
  /**
   * One deployment of `ref` per environment, created where missing, each with the status; a
   * deployment whose latest status already has that state gets none, nor does a `pending` one.
   */
  ensureDeployments(repo: RepoRef, ref: string, deployments: DeploymentSpec[]): Promise<void>;
}

/** A rollout still going, as replicas of the app share it: the release PR that merged, and where. */
export interface SharedRollout {
  installation: number;
  repo: RepoRef;
  pull: { number: number; headRef: string; headSha: string; base: string; mergeSha: string };
}

/**
 * Where replicas of the app record the rollouts they started, so the one that leads steps them
 * whichever replica took the merge (adapters/k8s/shared-rollouts.ts: a ConfigMap).
 */
export interface SharedRollouts {
  put(rollout: SharedRollout): Promise<void>;
  /** Forgets the repo's rollout when it is still the one of `pull`. */
  remove(repo: RepoRef, pull: number): Promise<void>;
  list(): Promise<SharedRollout[]>;
}
