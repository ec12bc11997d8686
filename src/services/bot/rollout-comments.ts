import type { Wave } from '../../core/config.ts';
import {
  exceptionLines,
  NAMES_SHOWN,
  targetsInWords,
  waveDescription,
  waveTable,
  type FleetSummary,
} from '../../core/fleet-summary.ts';
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
}

/** The GitHub environment of a wave: one per model and wave, so GitHub's Environments page lists a release's waves. */
export const waveEnvironment = (model: string, wave: string) => `${model}/${wave}`;

/**
 * One deployment per wave that has started, described by its counts when it went out
 * (core/fleet-summary). A wave still queued has none yet; a wave rolling out has one without a
 * status, which GitHub shows as pending; a status is written when the wave ends (healthy, failed,
 * rolled back). So a wave costs one write when it goes out and one when it ends.
 */
export function waveDeployments(news: RolloutNews, digest: string | undefined): DeploymentSpec[] {
  const { model, version } = news;
  return news.summary.waves.flatMap((wave) => {
    if (wave.state === 'queued') return [];
    return [
      {
        environment: waveEnvironment(model, wave.wave),
        description: `${model}, wave ${wave.wave}: ${waveDescription(version, wave)}`,
        payload: {
          model,
          version,
          digest,
          wave: wave.wave,
          targets: wave.targets,
          placements: wave.placements,
          gitops: news.url,
        },
        status: {
          state: wave.state === 'in_progress' ? 'pending' : wave.state,
          description: waveDescription(version, wave),
          url: news.url,
        },
      },
    ];
  });
}

/** The comment of a rollout that ended (done, rolled back, halted): counts per wave and the exceptions by name. */
export async function ensureEndComment(
  scm: Scm,
  repo: RepoRef,
  pull: number,
  news: RolloutNews,
  action: Extract<RolloutResult['action'], { kind: 'done' | 'rollback' | 'halt' }>,
): Promise<void> {
  const { model, version } = news;
  const headline =
    action.kind === 'done'
      ? `Rolled ${model} ${version} out to every wave${action.skipped.length > 0 ? `, leaving ${targetsInWords(action.skipped)} alone` : ''}.`
      : action.kind === 'rollback'
        ? `Rolled ${targetsInWords(action.targets)} back in ${news.url}: ${inert(action.reason, 2000)}. No further waves go out.`
        : `Stopped the rollout of ${model} ${version}: ${inert(action.reason, 2000)}. No further waves go out.`;
  const body = [
    headline,
    '',
    ...waveTable(news.summary),
    '',
    ...exceptionLines(news.summary, { names: NAMES_SHOWN, rest: `every site is in ${news.recordLink}` }),
  ].join('\n');
  await scm.ensureComment(repo, pull, `<!-- edgeship:rollout-end:${model}:${version} -->`, body);
}

/** The answer to a promote ticked on the fleet dashboard. */
export function promoteAnswer(by: string | undefined, result: RolloutResult): string {
  const { action } = result;
  if (action.kind === 'apply-wave')
    return `@${by ?? 'someone'}: sent wave **${action.wave}** (${targetsInWords(action.targets)}) now, without waiting for health and soak.`;
  return `@${by ?? 'someone'}: nothing to promote: ${action.kind === 'wait' ? action.reason : `the rollout is ${result.status}`}.`;
}
