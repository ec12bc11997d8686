import type { GoldenFile, TensorValues } from './core/golden.ts';
import type { HardwareProfile } from './core/profiles.ts';
import type { ProfileResult } from './core/profiling.ts';
import type { ModelInspection } from './core/release-plan.ts';

/** Structured log: a fixed message plus fields, as renovate and pino do. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

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
}

export interface PushedArtifact {
  /** Reference pinned by digest, e.g. `registry.example/models/pump@sha256:…`. */
  reference: string;
  digest: string;
}

export interface PulledArtifact {
  digest: string;
  /** Absolute paths of the pulled files by name. */
  files: Record<string, string>;
  config: unknown;
}

/** An OCI registry or image layout holding model artifacts. */
export interface ArtifactStore {
  /** Uploads blobs, then the manifest last, so a failed push leaves nothing that refers to a missing blob. */
  push(request: PushRequest): Promise<PushedArtifact>;
  /** Downloads an artifact into `directory`, verifying every digest; nothing is left there on failure. */
  pull(reference: string, directory: string): Promise<PulledArtifact>;
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
  /**
   * Applies the change on top of the current head in one commit. Returns undefined when no file
   * would change (no empty commits); never force-pushes.
   */
  apply(change: GitOpsChange, message: string): Promise<{ sha: string; files: string[] } | undefined>;
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
