import { z } from 'zod';
import { dnsLabel, finite, semverString } from './formats.ts';

/**
 * Site-side analysis of a rollout (`rollout.analysis`): each site judges the release it serves,
 * interval by interval, over the requests it served (success rate, p99 against its budget, drift
 * PSI), and reports each interval to the app; the app promotes a wave only when its sites passed.
 * The defaults follow Flagger's: a check a minute, five failed checks roll the site back, 99%
 * success, p99 within the budget. Nothing here does I/O.
 */
export const analysisSchema = z.strictObject({
  intervalSeconds: z.number().int().min(10).max(3600).default(60).describe('How often each site judges itself.'),
  failureLimit: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(5)
    .describe('Failed intervals after which a site is rolled back, at once.'),
  minRequests: z
    .number()
    .int()
    .nonnegative()
    .default(20)
    .describe('Requests an interval needs to be judged; fewer is no traffic, neither passed nor failed.'),
  successRate: z.number().min(0).max(1).default(0.99).describe('Share of requests answered without an error.'),
  p99WithinBudget: z.boolean().default(true).describe("The interval's p99 must be within the target's latency budget."),
  maxDriftPsi: z.number().positive().optional().describe('Largest PSI of any input feature against the reference.'),
  passShare: z
    .number()
    .gt(0)
    .max(1)
    .default(1)
    .describe(
      "Share of a wave's sites that must have passed by the end of its soak for the next wave to go; with passOnNoTraffic, the rest may be silent.",
    ),
  passOnNoTraffic: z
    .boolean()
    .default(false)
    .describe(
      'A site with no judged interval by the end of the soak is left alone (it counts as not passed); else it fails and is rolled back.',
    ),
});
export type Analysis = z.infer<typeof analysisSchema>;

/** What a site measured over one interval of the release it serves: what it POSTs to the app. */
export const intervalReportSchema = z.strictObject({
  model: dnsLabel,
  version: semverString,
  site: dnsLabel,
  /** The interval's number, counted from when the site started serving this version. */
  interval: z
    .number()
    .int()
    .nonnegative()
    .max(2 ** 31),
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  /** p99 of the interval's requests, ms; absent without requests. */
  p99Ms: finite.nonnegative().optional(),
  /** Largest PSI of an input feature over the window, when the site has reference statistics. */
  driftPsi: finite.nonnegative().optional(),
});
export type IntervalReport = z.infer<typeof intervalReportSchema>;

/** An interval as the site judged it by the release's analysis: what it POSTs to the app. */
export const siteVerdictSchema = intervalReportSchema.extend({
  verdict: z.enum(['passed', 'failed', 'no-traffic']),
  /** Why it failed, with the numbers. */
  why: z.array(z.string().max(300)).max(5).default([]),
});
export type SiteVerdict = z.infer<typeof siteVerdictSchema>;

/** The verdict of a site's POST, as the book records it. */
export const verdictOf = (posted: SiteVerdict): IntervalVerdict =>
  posted.verdict === 'failed'
    ? { verdict: 'failed', why: posted.why.length > 0 ? posted.why : ['failed (the site gave no reason)'] }
    : { verdict: posted.verdict };

export type IntervalVerdict = { verdict: 'passed' } | { verdict: 'no-traffic' } | { verdict: 'failed'; why: string[] };

const pct = (share: number) => `${(share * 100).toFixed(share > 0.999 && share < 1 ? 2 : 1)}%`;

/** One interval judged by the release's analysis and the target's latency budget; the reasons carry the numbers. */
export function judgeInterval(report: IntervalReport, analysis: Analysis, budgetMs: number): IntervalVerdict {
  if (report.requests < Math.max(1, analysis.minRequests)) return { verdict: 'no-traffic' };
  const why: string[] = [];
  const success = 1 - Math.min(report.errors, report.requests) / report.requests;
  if (success < analysis.successRate)
    why.push(
      `success rate ${pct(success)} < ${pct(analysis.successRate)} (${report.errors} of ${report.requests} failed)`,
    );
  if (analysis.p99WithinBudget && report.p99Ms !== undefined && report.p99Ms > budgetMs)
    why.push(`p99 ${report.p99Ms.toFixed(1)} ms > the ${budgetMs} ms budget`);
  if (analysis.maxDriftPsi !== undefined && report.driftPsi !== undefined && report.driftPsi > analysis.maxDriftPsi)
    why.push(`drift PSI ${report.driftPsi.toFixed(2)} > ${analysis.maxDriftPsi}`);
  return why.length > 0 ? { verdict: 'failed', why } : { verdict: 'passed' };
}

/** A site's intervals of one release so far, as the rollout judges it. */
export interface SiteAnalysis {
  passed: number;
  failed: number;
  noTraffic: number;
  /** The latest failed interval: its number and why. */
  lastFailure?: { interval: number; why: string[] };
}

/** What a site's analysis says at a point of the rollout. */
export type SiteJudgement = 'passed' | 'failed' | 'silent' | 'pending';

/**
 * A site's judgement: failed once `failureLimit` intervals failed (at any time); at the end of
 * the soak, passed with a passed interval; with none, silent when the config lets silence pass,
 * and failed otherwise; before the end, pending.
 */
export function judgeSite(site: SiteAnalysis | undefined, analysis: Analysis, soakEnded: boolean): SiteJudgement {
  if (site && site.failed >= analysis.failureLimit) return 'failed';
  if (!soakEnded) return 'pending';
  if (site && site.passed > 0) return 'passed';
  return analysis.passOnNoTraffic ? 'silent' : 'failed';
}

/** Why a site failed its analysis, in one line with its numbers. */
export function analysisFailure(target: string, site: SiteAnalysis | undefined, analysis: Analysis): string {
  if (site && site.failed >= analysis.failureLimit)
    return `${target} failed ${site.failed} analysis intervals${site.lastFailure ? ` (interval ${site.lastFailure.interval}: ${site.lastFailure.why.join('; ')})` : ''}`;
  if (!site || site.passed + site.failed + site.noTraffic === 0)
    return `${target} reported no analysis by the end of the soak`;
  return `${target} served too few requests to judge (fewer than ${analysis.minRequests} in each of ${site.noTraffic} intervals)`;
}

/** Intervals kept per site and release: a site cannot grow the app's memory past this. */
export const MAX_INTERVALS = 2048;
/** Releases of one model whose verdicts are kept: the newest. */
const RELEASES_KEPT = 3;

interface SiteRecord extends SiteAnalysis {
  seen: Set<number>;
}

/**
 * The intervals sites reported, per model release and site: each (site, release, interval) counts
 * once however often it is sent, a site keeps at most MAX_INTERVALS, and only the newest
 * RELEASES_KEPT releases of a model are kept. Judging is a count per site, so a wave of 10,000
 * sites is judged from 10,000 small records.
 */
export class VerdictBook {
  private readonly releases = new Map<string, Map<string, SiteRecord>>();

  /** Records an interval already judged; false when it was recorded before or the site is full. */
  record(scope: string, report: IntervalReport, verdict: IntervalVerdict): boolean {
    const key = `${scope.toLowerCase()}:${report.model}@${report.version}`;
    let sites = this.releases.get(key);
    if (!sites) {
      sites = new Map();
      this.releases.set(key, sites);
      this.forgetOlder(`${scope.toLowerCase()}:${report.model}@`);
    }
    let site = sites.get(report.site);
    if (!site) {
      site = { passed: 0, failed: 0, noTraffic: 0, seen: new Set() };
      sites.set(report.site, site);
    }
    if (site.seen.has(report.interval) || site.seen.size >= MAX_INTERVALS) return false;
    site.seen.add(report.interval);
    if (verdict.verdict === 'passed') site.passed += 1;
    else if (verdict.verdict === 'no-traffic') site.noTraffic += 1;
    else {
      site.failed += 1;
      if (!site.lastFailure || report.interval >= site.lastFailure.interval)
        site.lastFailure = { interval: report.interval, why: verdict.why };
    }
    return true;
  }

  /** Each site's analysis of a release, for the targets asked about. */
  summary(scope: string, model: string, version: string, targets: readonly string[]): Map<string, SiteAnalysis> {
    const sites = this.releases.get(`${scope.toLowerCase()}:${model}@${version}`);
    const found = new Map<string, SiteAnalysis>();
    if (!sites) return found;
    for (const target of targets) {
      const site = sites.get(target);
      if (site)
        found.set(target, {
          passed: site.passed,
          failed: site.failed,
          noTraffic: site.noTraffic,
          ...(site.lastFailure && { lastFailure: site.lastFailure }),
        });
    }
    return found;
  }

  private forgetOlder(prefix: string): void {
    const keys = [...this.releases.keys()].filter((key) => key.startsWith(prefix));
    for (const key of keys.slice(0, Math.max(0, keys.length - RELEASES_KEPT))) this.releases.delete(key);
  }
}

/** What a site needs to judge itself: the analysis, its latency budget, how many intervals to report. */
export interface SiteAnalysisSettings {
  analysis: Analysis;
  budgetMs: number;
  /** Intervals of a version the site reports: its wave's soak, and two more. */
  intervals: number;
}

/**
 * The site's analysis as its overlay carries it (`EDGESHIP_ANALYSIS`): `key=value` pairs joined
 * by commas, the characters an overlay literal edgeship owns may hold.
 */
export function siteAnalysisLiteral(analysis: Analysis, budgetMs: number, soakMinutes: number): string {
  const intervals = Math.ceil((soakMinutes * 60) / analysis.intervalSeconds) + 2;
  return [
    `interval=${analysis.intervalSeconds}`,
    `failures=${analysis.failureLimit}`,
    `min=${analysis.minRequests}`,
    `success=${analysis.successRate}`,
    `p99=${analysis.p99WithinBudget ? 1 : 0}`,
    ...(analysis.maxDriftPsi !== undefined ? [`psi=${analysis.maxDriftPsi}`] : []),
    `budget=${budgetMs}`,
    `intervals=${intervals}`,
  ].join(',');
}

/** Reads EDGESHIP_ANALYSIS back; `fail` names what is wrong. */
export function parseSiteAnalysis(text: string, fail: (why: string) => Error): SiteAnalysisSettings {
  const pairs = new Map<string, number>();
  for (const pair of text.split(',')) {
    const [key = '', value = ''] = pair.split('=');
    const number = Number(value);
    if (!/^[a-z0-9]+$/.test(key) || value.trim() === '' || !Number.isFinite(number))
      throw fail(`expected key=number pairs separated by commas, found "${pair}"`);
    pairs.set(key, number);
  }
  const get = (key: string) => pairs.get(key);
  const budgetMs = get('budget');
  if (budgetMs === undefined || !(budgetMs > 0)) throw fail('expected budget=<the latency budget in ms>');
  const parsed = analysisSchema.safeParse({
    ...(get('interval') !== undefined && { intervalSeconds: get('interval') }),
    ...(get('failures') !== undefined && { failureLimit: get('failures') }),
    ...(get('min') !== undefined && { minRequests: get('min') }),
    ...(get('success') !== undefined && { successRate: get('success') }),
    ...(get('p99') !== undefined && { p99WithinBudget: get('p99') !== 0 }),
    ...(get('psi') !== undefined && { maxDriftPsi: get('psi') }),
  });
  if (!parsed.success)
    throw fail(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  const intervals = get('intervals') ?? 0;
  if (!Number.isInteger(intervals) || intervals < 1) throw fail('expected intervals=<a whole number of intervals>');
  return { analysis: parsed.data, budgetMs, intervals };
}
