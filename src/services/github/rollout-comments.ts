import type { Wave } from '../../core/config.ts';
import { exceptionLines, NAMES_SHOWN, placementWords, targetsInWords, waveDescription, waveTable, type FleetSummary } from '../../core/fleet-summary.ts';
import { inert } from '../../core/markdown.ts';
import type { DeploymentSpec, RepoRef, Scm } from '../../ports.ts';
import type { RolloutResult } from '../rollout.ts';

/** What one rollout step tells GitHub about, beside its result. */
export interface RolloutNews {
  model: string;
  version: string;
  waves: readonly Wave[];
  summary: FleetSummary;
  /** The GitOps commit of the step, and a link to the release record that lists every site. */
  url: string;
  recordLink: string;
  /** Whether the app reads Argo CD (the next wave follows by itself) or waits for a promote. */
  watched: boolean;
  /** The rule that let the release deploy, said with the first wave. */
  because: string;
}

/** The GitHub environment of a wave: one per model and wave, so GitHub's Environments page lists a release's waves. */
export const waveEnvironment = (model: string, wave: string) => `${model}/${wave}`;

/**
 * One deployment per wave that has started, its status the wave's state and its counts
 * (core/fleet-summary). A wave still queued has none yet: GitHub's Environments page shows the
 * waves sent, and a wave costs its writes when it goes out.
 */
export function waveDeployments(news: RolloutNews, digest: string | undefined): DeploymentSpec[] {
  const { model, version } = news;
  return news.summary.waves.filter((wave) => wave.state !== 'queued').map((wave) => ({
    environment: waveEnvironment(model, wave.wave),
    description: `${model} ${version}, wave ${wave.wave}`,
    payload: { model, version, digest, wave: wave.wave, targets: wave.targets, placements: wave.placements },
    status: { state: wave.state, description: waveDescription(version, wave), url: news.url },
  }));
}

/** The comment of a wave sent: its targets and placements, what comes next; found again by its marker, so it is posted once. */
export async function ensureWaveComment(scm: Scm, repo: RepoRef, pull: number, news: RolloutNews, name: string, targets: readonly string[]): Promise<void> {
  const { model, version, waves } = news;
  const last = waves.findIndex((wave) => wave.name === name) >= waves.length - 1;
  const next = last
    ? ''
    : news.watched
      ? ' The next wave follows once this one is Synced and Healthy through its soak time.'
      : ' edgeship cannot read Argo CD from here, so it does not watch health: `/edgeship promote` sends the next wave.';
  const sent = news.summary.waves.find((wave) => wave.wave === name);
  const placed = sent ? `: ${placementWords(sent)}` : '';
  const because = name === waves[0]?.name ? ` It deploys because ${news.because}.` : '';
  await scm.ensureComment(repo, pull, `<!-- edgeship:wave:${model}:${version}:${name} -->`, `Sent ${model} ${version} to wave **${name}** (${targetsInWords(targets)}${placed}) in ${news.url}.${next}${because}`);
}

/** The comment of a rollout that ended (done, rolled back, halted): counts per wave and the exceptions by name. */
export async function ensureEndComment(scm: Scm, repo: RepoRef, pull: number, news: RolloutNews, action: Extract<RolloutResult['action'], { kind: 'done' | 'rollback' | 'halt' }>): Promise<void> {
  const { model, version } = news;
  const headline =
    action.kind === 'done'
      ? `Rolled ${model} ${version} out to every wave${action.skipped.length > 0 ? `, leaving ${targetsInWords(action.skipped)} alone` : ''}.`
      : action.kind === 'rollback'
        ? `Rolled ${targetsInWords(action.targets)} back in ${news.url}: ${inert(action.reason, 2000)}. No further waves go out.`
        : `Stopped the rollout of ${model} ${version}: ${inert(action.reason, 2000)}. No further waves go out.`;
  const body = [headline, '', ...waveTable(news.summary), '', ...exceptionLines(news.summary, { names: NAMES_SHOWN, rest: `every site is in ${news.recordLink}` })].join('\n');
  await scm.ensureComment(repo, pull, `<!-- edgeship:rollout-end:${model}:${version} -->`, body);
}

/** The answer to a promote ticked on the fleet dashboard. */
export function promoteAnswer(by: string | undefined, result: RolloutResult): string {
  const { action } = result;
  if (action.kind === 'apply-wave') return `@${by ?? 'someone'}: sent wave **${action.wave}** (${targetsInWords(action.targets)}) now, without waiting for health and soak.`;
  return `@${by ?? 'someone'}: nothing to promote: ${action.kind === 'wait' ? action.reason : `the rollout is ${result.status}`}.`;
}
