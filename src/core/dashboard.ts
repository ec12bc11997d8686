/**
 * The fleet dashboard: one issue per model in the model repo, in the spirit of Renovate's
 * Dependency Dashboard. It shows the release rolling out and what the fleet runs, each wave's
 * counts and the exceptions by name, and boxes a person ticks to act: promote the next wave,
 * roll a wave back, release a hold. Rendering and reading the boxes are pure; the bot writes the
 * issue only when what it shows changed.
 */
import { exceptionLines, NAMES_SHOWN, waveTable, type FleetSummary } from './fleet-summary.ts';
import { GITHUB_LIMITS, fitWithin } from './github-limits.ts';
import { inert } from './markdown.ts';
import { signerMarkdown, type ReleaseSignature } from './release-signature.ts';

/** Who signed the release, for the dashboard: the key's fingerprint or the identity, the commit and run its provenance names. */
const signedLine = (signature: ReleaseSignature | undefined) =>
  signature
    ? ` Signed by ${signerMarkdown(signature, true)}${signature.commit ? `, built from ${inert(signature.commit.slice(0, 7))}` : ''}${signature.runUrl ? ` in ${inert(signature.runUrl)}` : ''}.`
    : '';

/** The label that finds a model's dashboard among the repo's issues. */
export const DASHBOARD_LABEL = 'edgeship:fleet';
export const dashboardTitle = (model: string) => `edgeship fleet: ${model}`;
const marker = (model: string) => `<!-- edgeship:dashboard:${model} -->`;

/** What a ticked box asks for. */
export type DashboardAction =
  { kind: 'promote'; wave: string } | { kind: 'rollback'; wave: string } | { kind: 'release-hold'; target: string };

export interface DashboardInput {
  model: string;
  version: string;
  /** The rollout's state: rolling-out, done, rolled-back, halted. */
  status: string;
  /** Where the release came from: the merged release PR. */
  pull: { number: number; url?: string };
  summary: FleetSummary;
  /** Targets by the version the GitOps repo has for them ("none" where it has none). */
  versions: Record<string, number>;
  /** The wave a promote would send, when there is one. */
  nextWave?: string;
  /** Waves that got this release: each can be rolled back. */
  sentWaves: string[];
  /** Held targets with the reason, in wave order. */
  holds: { target: string; reason: string }[];
  /** A link to the release record, where every site is. */
  recordLink: string;
  /** The rule that let the release deploy. */
  because: string;
  /** Who signed the artifact, as the app verified it before the release PR. */
  signature?: ReleaseSignature;
  /** Whether the app reads Argo CD (the next wave follows by itself) or waits for a promote. */
  watched: boolean;
}

/** A ticked box, and who ticked it when the bot kept the tick in a body it wrote. */
export interface TickedBox {
  action: DashboardAction;
  by?: string;
}

/** A GitHub login, as the bot writes it into a kept box. */
const LOGIN = /^[A-Za-z0-9-]{1,39}$/;
const BOX =
  /^- \[( |x|X)\] <!-- edgeship:(promote|rollback|release-hold):([a-z0-9][a-z0-9.-]{0,62}) -->(?: <!-- edgeship:by:([A-Za-z0-9-]{1,39}) -->)?/gm;

/**
 * The ticked boxes of a dashboard's body, with the login a kept box names. That login counts only
 * in a body the bot wrote last (the caller knows who edited it): a person can type one too.
 */
export function tickedBoxes(body: string): TickedBox[] {
  return [...body.matchAll(BOX)].flatMap((match): TickedBox[] => {
    if (match[1] === ' ') return [];
    const [kind, name, by] = [match[2], match[3] as string, match[4]];
    const action: DashboardAction =
      kind === 'release-hold' ? { kind, target: name } : { kind: kind as 'promote' | 'rollback', wave: name };
    return [{ action, ...(by && { by }) }];
  });
}

/** The action of each ticked box in a dashboard's body. */
export const tickedActions = (body: string): DashboardAction[] => tickedBoxes(body).map((box) => box.action);

const boxOf = (action: DashboardAction) =>
  `<!-- edgeship:${action.kind}:${action.kind === 'release-hold' ? action.target : action.wave} -->`;

/**
 * The dashboard's body: every box unticked but those `kept`, ticks a person made while the bot
 * was acting on others, written ticked with who made them, so the next step acts on them as theirs.
 */
export function renderDashboard(input: DashboardInput, kept: readonly TickedBox[] = []): string {
  const keep = new Map(kept.map((box) => [boxOf(box.action), box.by]));
  const box = (action: DashboardAction, text: string) => {
    const by = keep.get(boxOf(action));
    return keep.has(boxOf(action)) && by && LOGIN.test(by)
      ? `- [x] ${boxOf(action)} <!-- edgeship:by:${by} --> ${text}`
      : `- [ ] ${boxOf(action)} ${text}`;
  };
  const exceptions = exceptionLines(input.summary, {
    names: NAMES_SHOWN,
    rest: `every site is in ${input.recordLink}`,
  });
  const total = Object.values(input.versions).reduce((sum, count) => sum + count, 0);
  const versions = Object.entries(input.versions).sort(([, a], [, b]) => b - a);
  const holds = input.holds.slice(0, NAMES_SHOWN);
  const rolling = input.status === 'rolling-out';
  const boxes = [
    ...(rolling && input.nextWave
      ? [
          box(
            { kind: 'promote', wave: input.nextWave },
            `Promote: send ${input.version} to wave **${inert(input.nextWave, 63)}** now, without waiting for health and soak`,
          ),
        ]
      : []),
    ...(rolling
      ? input.sentWaves.map((wave) =>
          box(
            { kind: 'rollback', wave },
            `Roll wave **${inert(wave, 63)}** back to what it ran before ${input.version}, and send no further waves`,
          ),
        )
      : []),
    ...holds.map((hold) =>
      box(
        { kind: 'release-hold', target: hold.target },
        `Release the hold on \`${inert(hold.target, 63)}\` (${inert(hold.reason, 200)})`,
      ),
    ),
  ];
  const lines = [
    `**${inert(input.model, 63)} ${input.version}** is ${input.status === 'rolling-out' ? 'rolling out' : input.status} (from #${input.pull.number}). ${versions.map(([version, count]) => `${count.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} targets run ${version === 'none' ? 'no release yet' : `**${version}**`}`).join('; ')}.`,
    '',
    `It deploys because ${input.because}.${signedLine(input.signature)}${rolling && input.nextWave ? (input.watched ? ' The next wave follows once the last one sent is Synced and Healthy through its soak time.' : ' edgeship cannot read Argo CD from here, so it does not watch health: tick Promote below, or comment `/edgeship promote` on the release PR, to send the next wave.') : ''}`,
    '',
    '### Waves',
    ...waveTable(input.summary),
    '',
    '```mermaid',
    `pie showData title Versions across ${total.toLocaleString('en-US')} targets`,
    ...versions.map(([version, count]) => `  "${version}" : ${count}`),
    '```',
    '',
    '### Exceptions',
    ...(exceptions.length > 0 ? exceptions : ['None: every target is where the rollout put it.']),
    '',
    '### Act',
    'Tick a box: edgeship acts on it once, within one rollout tick, for people with write access to this repository.',
    '',
    ...(boxes.length > 0 ? boxes : [`Nothing to act on: the rollout of ${input.version} is ${input.status}.`]),
    ...(input.holds.length > holds.length
      ? [
          `- ${input.holds.length - holds.length} more held targets: remove \`hold\` from their entries in ${input.recordLink}`,
        ]
      : []),
    '',
    marker(input.model),
  ];
  return fitWithin(lines.join('\n'), GITHUB_LIMITS.body);
}
