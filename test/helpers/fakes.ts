import { createHash } from 'node:crypto';
import { cp, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ArtifactError } from '../../src/core/errors.ts';
import type { HardwareProfile } from '../../src/core/profiles.ts';
import type {
  AttachedBlob,
  Attachment,
  ArtifactStore,
  GitOpsChange,
  GitOpsRepo,
  ModelProfiler,
  ProfileOptions,
  PulledArtifact,
  PushedArtifact,
  PushRequest,
  TrainingBackend,
} from '../../src/ports.ts';
import { collectOutputs } from '../../src/adapters/training/local-process.ts';
import { silentProgress } from '../../src/compose/progress.ts';
import { profileResult } from './fixtures.ts';

/** Training that copies prepared outputs into the repo, as if the command had written them. */
export function fakeTraining(source: () => string): TrainingBackend & { runs: number } {
  const backend = {
    runs: 0,
    async train(request: { directory: string; outputs: string }) {
      backend.runs += 1;
      const target = join(request.directory, request.outputs);
      await cp(source(), target, { recursive: true });
      return collectOutputs(target);
    },
  };
  return backend;
}

/** A profiler that reports a fixed p95 per profile name (ms). */
export function fakeProfiler(p95: Record<string, number>): ModelProfiler {
  return {
    profile: async (_file: string, name: string, _profile: HardwareProfile, options: ProfileOptions) => ({
      ...profileResult(name, p95[name] ?? 1),
      batch: options.batch,
    }),
  };
}

/** An in-memory artifact store that keeps the files it was given. */
export class MemoryStore implements ArtifactStore {
  readonly pushes: PushRequest[] = [];
  private readonly artifacts = new Map<string, { request: PushRequest; copies: string }>();
  constructor(
    private readonly scratch: string,
    private readonly failWith?: Error,
  ) {}

  async push(request: PushRequest): Promise<PushedArtifact> {
    if (this.failWith) throw this.failWith;
    // A version tag never moves, as in the real stores: the same model gets the published artifact.
    const tagged = [...this.artifacts].find(
      ([, artifact]) => artifact.request.name === request.name && artifact.request.tag === request.tag,
    );
    if (tagged && request.immutable) {
      const key = request.immutable.identity;
      const same =
        (tagged[1].request.config as Record<string, unknown>)[key] === (request.config as Record<string, unknown>)[key];
      if (!same)
        throw new ArtifactError(
          `${request.name}:${request.tag} is already published as ${tagged[0]} with another model`,
        );
      return { digest: tagged[0], reference: `memory.test/${request.name}@${tagged[0]}` };
    }
    const digest = `sha256:${String(this.pushes.length + 1).padStart(64, '0')}`;
    const copies = join(this.scratch, digest.slice(7));
    await mkdir(copies, { recursive: true });
    for (const file of request.files) await cp(file.path, join(copies, file.name));
    this.pushes.push(request);
    this.artifacts.set(digest, { request, copies });
    return { digest, reference: `memory.test/${request.name}@${digest}` };
  }

  async pull(reference: string, directory: string): Promise<PulledArtifact> {
    const digest = reference.slice(reference.indexOf('@') + 1);
    const artifact = this.artifacts.get(digest);
    if (!artifact) throw new Error(`no artifact ${reference}`);
    await cp(artifact.copies, directory, { recursive: true });
    const files = Object.fromEntries(
      artifact.request.files.map((file) => [file.name, join(directory, basename(file.name))]),
    );
    return { digest, config: artifact.request.config, files };
  }

  /** What was attached to each artifact, in order: referrers as a registry lists them. */
  readonly attachments = new Map<string, Attachment[]>();

  async attach(reference: string, attachment: Attachment): Promise<string> {
    const digest = reference.slice(reference.indexOf('@') + 1);
    if (!this.artifacts.has(digest)) throw new Error(`no artifact ${reference} to attach to`);
    this.attachments.set(digest, [...(this.attachments.get(digest) ?? []), attachment]);
    return `sha256:${createHash('sha256').update(attachment.bytes).digest('hex')}`;
  }

  async attached(reference: string, artifactType: string): Promise<AttachedBlob[]> {
    const digest = reference.slice(reference.indexOf('@') + 1);
    return (this.attachments.get(digest) ?? [])
      .filter((attachment) => attachment.artifactType === artifactType)
      .map((attachment) => ({ bytes: attachment.bytes, annotations: attachment.annotations ?? {} }));
  }

  async listFiles(reference: string): Promise<{ name: string; sha256: string }[]> {
    const digest = reference.slice(reference.indexOf('@') + 1);
    const artifact = this.artifacts.get(digest);
    if (!artifact) throw new Error(`no artifact ${reference}`);
    return Promise.all(
      artifact.request.files.map(async (file) => ({
        name: file.name,
        sha256: createHash('sha256')
          .update(await readFile(join(artifact.copies, file.name)))
          .digest('hex'),
      })),
    );
  }
}

/** An in-memory GitOps repo that counts commits and keeps each commit's files. */
export class MemoryGitOps implements GitOpsRepo {
  readonly files = new Map<string, string>();
  readonly commits: string[] = [];
  private readonly snapshots = new Map<string, Map<string, string>>();

  async read(path: string) {
    return this.files.get(path);
  }

  async readAt(path: string, revision: string) {
    return this.snapshots.get(revision)?.get(path);
  }

  async apply(change: GitOpsChange, message: string) {
    const writes = (await change(async (path) => this.files.get(path))).filter(
      (write) => this.files.get(write.path) !== write.content,
    );
    if (writes.length === 0) return undefined;
    for (const write of writes) this.files.set(write.path, write.content);
    this.commits.push(message);
    const sha = `commit-${this.commits.length}`;
    this.snapshots.set(sha, new Map(this.files));
    return { sha, files: writes.map((write) => write.path) };
  }
}

export { silentProgress };
