import type { LoadedModel } from './model.ts';

interface Counter {
  count: number;
  ns: number;
}

/** Per-version statistics in the shape of Triton's statistics extension (`/v2/models/<m>/stats`). */
interface VersionStats {
  last_inference: number;
  inference_count: number;
  execution_count: number;
  success: Counter;
  fail: Counter;
}

/**
 * The versions of one model a server holds: the current one (what unversioned requests get)
 * and older ones kept while offloading sites still ask for them by version. Each has its own
 * ONNX Runtime thread and statistics.
 */
export class ModelVersions {
  private readonly versions = new Map<string, LoadedModel>();
  private readonly stats = new Map<string, VersionStats>();
  private currentVersion: string | undefined;
  /** Why there is no model, once one was unloaded. */
  unloaded: string | undefined;

  get current(): LoadedModel | undefined {
    return this.currentVersion === undefined ? undefined : this.versions.get(this.currentVersion);
  }

  get all(): LoadedModel[] {
    return [...this.versions.values()];
  }

  /** The version a request names, or the current one. */
  get(version: string | undefined): LoadedModel | undefined {
    return version === undefined ? this.current : this.versions.get(version);
  }

  /** Adds a version; `current` makes it what unversioned requests get. Returns the model it replaces. */
  add(model: LoadedModel, current: boolean): LoadedModel | undefined {
    const replaced = this.versions.get(model.version);
    this.versions.set(model.version, model);
    if (!this.stats.has(model.version))
      this.stats.set(model.version, {
        last_inference: 0,
        inference_count: 0,
        execution_count: 0,
        success: { count: 0, ns: 0 },
        fail: { count: 0, ns: 0 },
      });
    if (current || this.currentVersion === undefined) this.currentVersion = model.version;
    this.unloaded = undefined;
    return replaced;
  }

  /** Takes one version out; the caller stops it. */
  remove(version: string): void {
    this.versions.delete(version);
    if (this.currentVersion === version) this.currentVersion = this.versions.keys().next().value;
  }

  /** Takes every version out; the caller stops them. */
  clear(reason: string): LoadedModel[] {
    const removed = this.all;
    this.versions.clear();
    this.currentVersion = undefined;
    this.unloaded = reason;
    return removed;
  }

  record(version: string, outcome: 'success' | 'fail', rows: number, elapsedNs: number): void {
    const stats = this.stats.get(version);
    if (!stats) return;
    stats[outcome].count += 1;
    stats[outcome].ns += elapsedNs;
    if (outcome === 'success') {
      stats.inference_count += rows;
      stats.execution_count += 1;
      stats.last_inference = Date.now();
    }
  }

  /** The statistics body for one version or all of them. */
  statistics(name: string, version?: string) {
    const versions = [...this.versions.keys()].filter((candidate) => version === undefined || candidate === version);
    return {
      model_stats: versions.map((candidate) => {
        const { success, fail, ...counts } = this.stats.get(candidate) as VersionStats;
        return { name, version: candidate, ...counts, inference_stats: { success, fail } };
      }),
    };
  }

  /** The repository index: every version and whether it serves. */
  index(name: string) {
    if (this.versions.size === 0) return [{ name, state: 'UNAVAILABLE', reason: this.unloaded ?? 'no model loaded' }];
    return [...this.versions.keys()].map((version) => ({ name, version, state: 'READY' }));
  }
}
