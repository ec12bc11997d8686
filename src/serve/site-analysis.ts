import {
  judgeInterval,
  type IntervalReport,
  type IntervalVerdict,
  type SiteAnalysisSettings,
  type SiteVerdict,
} from '../core/analysis.ts';
import { messageOf } from '../core/errors.ts';
import { percentile } from '../core/stats.ts';
import type { Logger } from '../ports.ts';

/** Latencies kept per interval; past it, each new one replaces a random kept one (a uniform sample). */
const KEPT = 20_000;

export interface SiteAnalyzerOptions extends SiteAnalysisSettings {
  model: string;
  site: string;
  /** The version served now: its intervals are judged, and a new one starts counting again. */
  version: () => string;
  /** The largest feature PSI of the last drift window (the drift monitor's), when there is one. */
  driftPsi?: () => number | undefined;
  /**
   * Where a judged interval goes: the app's /api/edgeship/verdicts. A failure with a 4xx
   * `status` is final; any other goes again after the next interval.
   */
  send: (verdict: SiteVerdict) => Promise<void>;
  log: Logger;
  now?: () => number;
}

/**
 * A site judging the release it serves (rollout.analysis): each request's latency and whether
 * the server failed it are counted per interval; at the end of each interval the site judges it
 * by the release's analysis and its own budget and sends the verdict, for the first `intervals`
 * intervals of a version (its wave's soak). Intervals are numbered by the clock (ms since the
 * epoch ÷ the interval), so a restarted server does not send a number twice. A verdict the app
 * did not take (unreachable, a 5xx, a replica between leaders) is kept and sent again, oldest
 * first, after the next interval: the app records each interval once, so nothing counts twice.
 */
export class SiteAnalyzer {
  private version: string;
  private sent = 0;
  private requests = 0;
  private errors = 0;
  private latencies: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Verdicts of this version not taken yet, oldest first; at most `intervals`. */
  private unsent: SiteVerdict[] = [];

  constructor(private readonly options: SiteAnalyzerOptions) {
    this.now = options.now ?? Date.now;
    this.version = options.version();
  }

  /** One request the server answered (`failed`: a 5xx, the server's fault); 4xx are the client's and not counted. */
  observe(latencyMs: number, failed: boolean): void {
    if (this.sent >= this.options.intervals && this.version === this.options.version()) return;
    this.requests += 1;
    if (failed) this.errors += 1;
    if (this.latencies.length < KEPT) this.latencies.push(latencyMs);
    else {
      const slot = Math.floor(Math.random() * this.requests);
      if (slot < KEPT) this.latencies[slot] = latencyMs;
    }
  }

  /** Judges every interval as it ends, until stop(). */
  start(): void {
    const every = this.options.analysis.intervalSeconds * 1000;
    const schedule = () => {
      this.timer = setTimeout(
        () => {
          void this.flush().finally(schedule);
        },
        every - (this.now() % every),
      );
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /**
   * Ends the interval that is running: judged and sent, unless the version changed in it (the
   * new version starts counting afresh) or the version's intervals were all sent. Returns what it sent.
   */
  async flush(): Promise<SiteVerdict | undefined> {
    const version = this.options.version();
    const interval = Math.floor(this.now() / (this.options.analysis.intervalSeconds * 1000)) - 1;
    const measured = { requests: this.requests, errors: this.errors, latencies: this.latencies };
    this.requests = 0;
    this.errors = 0;
    this.latencies = [];
    if (version !== this.version) {
      this.version = version;
      this.sent = 0;
      this.unsent = [];
      return undefined;
    }
    if (this.sent >= this.options.intervals) return undefined;
    this.sent += 1;
    const report: IntervalReport = {
      model: this.options.model,
      version,
      site: this.options.site,
      interval: Math.max(0, interval),
      requests: measured.requests,
      errors: measured.errors,
      ...(this.options.driftPsi?.() !== undefined && { driftPsi: this.options.driftPsi() }),
      ...(measured.latencies.length > 0 && {
        p99Ms: percentile(
          measured.latencies.sort((a, b) => a - b),
          99,
        ),
      }),
    };
    const judged: IntervalVerdict = judgeInterval(report, this.options.analysis, this.options.budgetMs);
    const verdict: SiteVerdict = {
      ...report,
      verdict: judged.verdict,
      why: judged.verdict === 'failed' ? judged.why : [],
    };
    if (judged.verdict === 'failed')
      this.options.log.warn({ interval: report.interval, why: judged.why }, 'This site failed an analysis interval');
    this.unsent.push(verdict);
    if (this.unsent.length > this.options.intervals) this.unsent.shift();
    await this.sendUnsent();
    return verdict;
  }

  /** Sends what the app has not taken, oldest first, until one fails for now. */
  private async sendUnsent(): Promise<void> {
    for (let next = this.unsent[0]; next; next = this.unsent[0]) {
      try {
        await this.options.send(next);
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status !== undefined && status >= 400 && status < 500) {
          this.options.log.warn(
            { interval: next.interval, error: messageOf(error) },
            'The app refused the analysis verdict; it is not sent again',
          );
        } else {
          this.options.log.warn(
            { interval: next.interval, waiting: this.unsent.length, error: messageOf(error) },
            'The analysis verdict could not be sent; it goes again after the next interval',
          );
          return;
        }
      }
      this.unsent.shift();
    }
  }
}
