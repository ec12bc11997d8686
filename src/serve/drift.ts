import pRetry from 'p-retry';
import { binOf, psi, sustainedDrift, type DriftRule, type ReferenceStats } from '../core/drift.ts';
import { EdgeshipError } from '../core/errors.ts';
import type { CheckedTensor } from '../core/oip.ts';
import type { Logger } from '../ports.ts';
import type { DriftEvidence } from '../services/bot/drift.ts';
import type { ServingMetrics } from './metrics.ts';

/** Where drift evidence goes: the model repo (repository_dispatch) or a webhook. */
export interface DriftSink {
  describe: string;
  send(evidence: DriftEvidence): Promise<void>;
}

/** POSTs JSON, retried twice; a refusal throws with its status and text. */
export async function post(url: string, body: unknown, headers: Record<string, string>, what: string): Promise<void> {
  await pRetry(
    async () => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok)
        throw Object.assign(new EdgeshipError(`${what}: ${response.status} ${(await response.text()).slice(0, 200)}`), {
          status: response.status,
        });
    },
    { retries: 2, minTimeout: 200 },
  );
}

/** A `repository_dispatch` of type `edgeship-drift` on the model repo, which the app turns into a training run. */
export function githubDispatchSink(repo: string, token: string, api = 'https://api.github.com'): DriftSink {
  return {
    describe: `repository_dispatch on ${repo}`,
    send: (evidence) =>
      post(
        `${api}/repos/${repo}/dispatches`,
        { event_type: 'edgeship-drift', client_payload: evidence },
        {
          authorization: `Bearer ${token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
        },
        `repository_dispatch on ${repo}`,
      ),
  };
}

/** The evidence to the edgeship app's /api/edgeship/drift with this site's token: no GitHub token at the edge. */
export function appSink(url: string, repo: string, token: string): DriftSink {
  const endpoint = `${url.replace(/\/+$/, '')}/api/edgeship/drift`;
  return {
    describe: `edgeship app ${new URL(url).origin}`,
    send: (evidence) =>
      post(
        endpoint,
        { repo, ...evidence },
        { authorization: `Bearer ${token}` },
        `drift evidence to ${new URL(url).origin}`,
      ),
  };
}

/** The evidence as JSON to a webhook (an alerting system, or a relay to GitHub). */
export function webhookSink(url: string): DriftSink {
  return {
    describe: `webhook ${new URL(url).origin}`,
    send: (evidence) => post(url, evidence, {}, `drift webhook ${new URL(url).origin}`),
  };
}

export interface DriftOptions {
  model: string;
  version: string;
  site: string;
  reference: ReferenceStats;
  /** Values per feature in a window. */
  window: number;
  rule: DriftRule;
  cooldownMs: number;
  sink?: DriftSink;
  metrics: ServingMetrics;
  log: Logger;
  now?: () => number;
}

/**
 * Compares live inputs with the training reference, window by window: each feature's values
 * fall into the reference's bins; a full window gives a PSI per feature (exported as a gauge);
 * when the highest stays above the threshold for the configured windows in a row, the evidence
 * goes to the sink, at most once per cooldown.
 */
export class DriftMonitor {
  private counts: number[][];
  private seen = 0;
  private started: number;
  private readonly recent: number[] = [];
  private lastSent = -Infinity;
  /** The send in progress, for tests and shutdown. */
  sending: Promise<void> = Promise.resolve();

  constructor(private readonly options: DriftOptions) {
    this.counts = options.reference.features.map((feature) => new Array<number>(feature.proportions.length).fill(0));
    this.started = this.now();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The largest feature PSI of the last full window, when there was one. */
  get latestPsi(): number | undefined {
    return this.recent.at(-1);
  }

  observe(inputs: readonly CheckedTensor[]): void {
    const { features } = this.options.reference;
    let added = 0;
    features.forEach((feature, index) => {
      const input = inputs.find((candidate) => candidate.name === feature.input);
      const width = input?.dims.at(-1);
      if (!input || !width || feature.index >= width) return;
      const counts = this.counts[index] as number[];
      for (let position = feature.index; position < input.data.length; position += width) {
        const bin = binOf(feature.edges, input.data[position] as number);
        counts[bin] = (counts[bin] ?? 0) + 1;
      }
      if (index === 0) added = input.data.length / width;
    });
    this.seen += added;
    if (this.seen >= this.options.window) this.closeWindow();
  }

  private closeWindow(): void {
    const { model, version, site, reference, metrics } = this.options;
    const scores = reference.features.map((feature, index) => ({
      name: feature.name,
      score: Number(psi(feature.proportions, this.counts[index] ?? []).toFixed(4)),
    }));
    for (const { name, score } of scores) metrics.drift.set({ model, feature: name }, score);
    const end = this.now();
    const window = { start: new Date(this.started).toISOString(), end: new Date(end).toISOString() };
    this.recent.push(Math.max(...scores.map((entry) => entry.score)));
    if (this.recent.length > this.options.rule.windows) this.recent.shift();
    this.counts = this.counts.map((counts) => counts.map(() => 0));
    this.seen = 0;
    this.started = end;
    if (!sustainedDrift(this.recent, this.options.rule) || end - this.lastSent < this.options.cooldownMs) return;
    this.lastSent = end;
    const evidence: DriftEvidence = { model, site, version, window, features: scores };
    const sink = this.options.sink;
    if (!sink) {
      this.options.log.warn({ model, scores }, 'Drift above the threshold; no sink configured to send the evidence to');
      metrics.evidence.inc({ model, outcome: 'no-sink' });
      return;
    }
    this.sending = sink.send(evidence).then(
      () => {
        metrics.evidence.inc({ model, outcome: 'sent' });
        this.options.log.info({ model, sink: sink.describe, scores }, 'Drift evidence sent');
      },
      (error: unknown) => {
        metrics.evidence.inc({ model, outcome: 'failed' });
        this.options.log.error({ model, sink: sink.describe, err: error }, 'Drift evidence could not be sent');
      },
    );
  }
}
