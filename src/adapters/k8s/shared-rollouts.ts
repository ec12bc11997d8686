import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { z } from 'zod';
import { CONFLICT, untilSwapped, type SwapRetry } from '../../core/compare-and-swap.ts';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import type { RepoRef, SharedRollout, SharedRollouts } from '../../ports.ts';
import { repoName } from '../../core/formats.ts';
import { jsonOrUndefined } from '../../core/parse-json.ts';

const codeOf = (error: unknown) => (error as { code?: number }).code;
/** Replicas write the map seldom and briefly: a writer keeps trying for ten seconds, waits of 20 ms to 1 s. */
const SHARED_RETRY: SwapRetry = { deadlineMs: 10_000, minWaitMs: 20, maxWaitMs: 1_000 };

const sharedRolloutSchema = z.strictObject({
  installation: z.number().int().positive(),
  repo: z.strictObject({
    owner: z.string().regex(/^[A-Za-z0-9-]{1,39}$/),
    repo: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/),
  }),
  pull: z.strictObject({
    number: z.number().int().positive(),
    headRef: z.string().min(1).max(255),
    headSha: z.string().regex(/^[0-9a-f]{40}$/),
    base: z.string().min(1).max(255),
    mergeSha: z.string().regex(/^[0-9a-f]{40}$/),
  }),
});

/** A ConfigMap key for a repo: its name hashed, since `/` and case do not fit a key unambiguously. */
const keyOf = (repo: RepoRef) =>
  `rollout-${createHash('sha256').update(repoName(repo).toLowerCase()).digest('hex').slice(0, 32)}`;

/**
 * The rollouts still going, shared by the app's replicas in one ConfigMap of their namespace: a
 * key per model repo, its value the rollout as JSON. Every write carries the resourceVersion it
 * read; one that another replica's write beat reads again and retries.
 */
export class ConfigMapRollouts implements SharedRollouts {
  private readonly api: CoreV1Api;

  constructor(
    kubeconfig: KubeConfig,
    private readonly namespace: string,
    private readonly name = 'edgeship-rollouts',
  ) {
    this.api = kubeconfig.makeApiClient(CoreV1Api);
  }

  async put(rollout: SharedRollout): Promise<void> {
    const [key, value] = [keyOf(rollout.repo), JSON.stringify(rollout)];
    // A tick records a rollout still going at every step: a write only when it changed.
    await this.change((data) => (data[key] === value ? undefined : { ...data, [key]: value }));
  }

  async remove(repo: RepoRef, pull: number): Promise<void> {
    await this.change((data) => {
      const key = keyOf(repo);
      const current = data[key];
      if (current === undefined || this.parse(current)?.pull.number !== pull) return undefined;
      return Object.fromEntries(Object.entries(data).filter(([name]) => name !== key));
    });
  }

  async list(): Promise<SharedRollout[]> {
    const map = await this.read();
    return Object.values(map?.data ?? {}).flatMap((value) => {
      const rollout = this.parse(value);
      return rollout ? [rollout] : [];
    });
  }

  private parse(value: string): SharedRollout | undefined {
    // A value no replica of this version wrote: left alone, never acted on.
    const parsed = sharedRolloutSchema.safeParse(jsonOrUndefined(value));
    return parsed.success ? parsed.data : undefined;
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api.readNamespacedConfigMap({ name: this.name, namespace: this.namespace });
    } catch (error) {
      if (codeOf(error) === 404) return undefined;
      throw this.wrap('read', error);
    }
  }

  /**
   * Applies `edit` to the data and writes it, unless it answers undefined (nothing to change). A
   * write another replica beat (409) is tried again from a fresh read, after a jittered, growing
   * wait, until a deadline (core/compare-and-swap).
   */
  private async change(edit: (data: Record<string, string>) => Record<string, string> | undefined): Promise<void> {
    await untilSwapped(
      `ConfigMap ${this.namespace}/${this.name}`,
      async () => {
        const map = await this.read();
        const data = edit(map?.data ?? {});
        if (data === undefined) return undefined;
        try {
          if (map)
            await this.api.replaceNamespacedConfigMap({
              name: this.name,
              namespace: this.namespace,
              body: { ...map, data },
            });
          else
            await this.api.createNamespacedConfigMap({
              namespace: this.namespace,
              body: {
                apiVersion: 'v1',
                kind: 'ConfigMap',
                metadata: { name: this.name, namespace: this.namespace },
                data,
              },
            });
          return undefined;
        } catch (error) {
          if (codeOf(error) !== 409) throw this.wrap('write', error);
          return CONFLICT;
        }
      },
      SHARED_RETRY,
    );
  }

  private wrap(verb: string, error: unknown): EdgeshipError {
    return new EdgeshipError(
      `cannot ${verb} the ConfigMap ${this.namespace}/${this.name} the replicas share rollouts in: ${messageOf(error).split('\n')[0]}`,
      { cause: error },
    );
  }
}
