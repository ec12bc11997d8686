import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { GitRemoteRepo } from '../adapters/git/gitops-repo.ts';
import { artifactStoreFor, artifactStoreForReference, credentialsFromEnv } from '../adapters/oci/index.ts';
import { OnnxInspector } from '../adapters/onnx/inspector.ts';
import { OnnxProfiler } from '../adapters/onnx/profiler.ts';
import { LocalProcessBackend, readTrainedFrom } from '../adapters/training/local-process.ts';
import { gitProvenance } from '../adapters/git/provenance.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { ArtifactStore, Progress } from '../ports.ts';
import { signerFromEnvironment } from './signer.ts';
import type { ReleaseDeps } from '../services/release.ts';
import { childEnvironment, runEnvironment, type RunEnvironment } from './run-settings.ts';

/** Flags that point the engine at other places than the config says. */
export interface Overrides {
  gitops?: string;
  artifacts?: string;
}

/**
 * Where the GitOps repo and the artifacts are, and what a relative path there is relative to: the
 * directory the command runs in for a flag or variable the user typed, the model repo for the
 * values of its config.
 */
export function locationsOf(
  directory: string,
  config: EdgeshipConfig,
  overrides: Overrides = {},
  env: RunEnvironment = runEnvironment(),
  cwd = process.cwd(),
) {
  // An empty variable counts as unset, as in a shell.
  const typed = (flag: string | undefined, variable: string | undefined) => flag ?? (variable || undefined);
  const gitops = typed(overrides.gitops, env.EDGESHIP_GITOPS);
  const artifacts = typed(overrides.artifacts, env.EDGESHIP_ARTIFACTS);
  return {
    gitops: gitops === undefined ? { text: config.gitops.repo, base: directory } : { text: gitops, base: cwd },
    artifacts:
      artifacts === undefined ? { text: config.artifacts.repository, base: directory } : { text: artifacts, base: cwd },
  };
}

/** The local adapters behind every port, for a model repo checked out at `directory`. */
export function localDeps(
  directory: string,
  config: EdgeshipConfig,
  progress: Progress,
  overrides: Overrides = {},
): ReleaseDeps {
  const env = runEnvironment();
  const credentials = credentialsFromEnv(env);
  const options = credentials ? { credentials } : {};
  const locations = locationsOf(directory, config, overrides);
  const signer = signerFromEnvironment(env);
  return {
    ...(signer && { signer }),
    inspector: new OnnxInspector(),
    profiler: new OnnxProfiler(),
    training: new LocalProcessBackend(childEnvironment()),
    store: artifactStoreFor(locations.artifacts.text, options, locations.artifacts.base),
    storeFor: (reference: string): ArtifactStore => artifactStoreForReference(reference, options),
    gitops: gitopsRepo(directory, config, overrides),
    progress,
  };
}

/** The GitOps repo for local use: a path or git URL, cloned under the model repo's `.edgeship/`. */
export function gitopsRepo(directory: string, config: EdgeshipConfig, overrides: Overrides = {}) {
  const { text, base } = locationsOf(directory, config, overrides).gitops;
  const local = !/^[a-z]+:\/\/|^git@/.test(text);
  const remote = local && !isAbsolute(text) ? resolve(base, text) : text;
  const key = createHash('sha256').update(remote).digest('hex').slice(0, 12);
  return new GitRemoteRepo({
    remote,
    branch: config.gitops.branch,
    workdir: join(directory, '.edgeship', 'gitops', key),
  });
}

/**
 * Where a local evaluation's model came from, the same for the CLI and the Actions step: the
 * commit trained (recorded beside the outputs by a local training), else the checkout's; the
 * training command; and why it trained, when a caller says.
 */
export async function evaluationProvenance(
  directory: string,
  outputsDirectory: string,
  config: EdgeshipConfig,
  trigger?: string,
) {
  return {
    ...(await gitProvenance(directory)),
    command: config.train.command,
    trainedAt: new Date().toISOString(),
    ...(await readTrainedFrom(outputsDirectory)),
    ...(trigger && { trigger }),
  };
}
