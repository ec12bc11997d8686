import { createHash } from 'node:crypto';
import { isAbsolute, join, resolve } from 'node:path';
import { GitRemoteRepo } from '../adapters/git/gitops-repo.ts';
import { artifactStoreFor, artifactStoreForReference, credentialsFromEnv } from '../adapters/oci/index.ts';
import { OnnxInspector } from '../adapters/onnx/inspector.ts';
import { OnnxProfiler } from '../adapters/onnx/profiler.ts';
import { LocalProcessBackend } from '../adapters/training/local-process.ts';
import type { EdgeshipConfig } from '../core/config.ts';
import type { ArtifactStore, Progress } from '../ports.ts';
import type { ReleaseDeps } from '../services/release.ts';

/** Flags that point the engine at other places than the config says. */
export interface Overrides {
  gitops?: string;
  artifacts?: string;
}

/** The local adapters behind every port, for a model repo checked out at `directory`. */
export function localDeps(directory: string, config: EdgeshipConfig, progress: Progress, overrides: Overrides = {}): ReleaseDeps {
  const credentials = credentialsFromEnv();
  const options = credentials ? { credentials } : {};
  return {
    inspector: new OnnxInspector(),
    profiler: new OnnxProfiler(),
    training: new LocalProcessBackend(),
    store: artifactStoreFor(overrides.artifacts ?? (process.env.EDGESHIP_ARTIFACTS || config.artifacts.repository), options, directory),
    storeFor: (reference: string): ArtifactStore => artifactStoreForReference(reference, options),
    gitops: gitopsRepo(directory, config, overrides.gitops),
    progress,
  };
}

/** The GitOps repo for local use: a path or git URL, cloned under the model repo's `.edgeship/`. */
export function gitopsRepo(directory: string, config: EdgeshipConfig, override?: string) {
  // An empty variable counts as unset, as in a shell.
  const remoteText = override ?? (process.env.EDGESHIP_GITOPS || config.gitops.repo);
  const local = !/^[a-z]+:\/\/|^git@/.test(remoteText);
  const remote = local && !isAbsolute(remoteText) ? resolve(directory, remoteText) : remoteText;
  const key = createHash('sha256').update(remote).digest('hex').slice(0, 12);
  return new GitRemoteRepo({ remote, branch: config.gitops.branch, workdir: join(directory, '.edgeship', 'gitops', key) });
}
