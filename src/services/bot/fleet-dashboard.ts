import { COMMAND_ROLES } from '../../core/commands.ts';
import type { EdgeshipConfig, Wave } from '../../core/config.ts';
import {
  DASHBOARD_LABEL,
  dashboardTitle,
  renderDashboard,
  tickedBoxes,
  type DashboardAction,
  type DashboardInput,
  type TickedBox,
} from '../../core/dashboard.ts';
import { targetsInWords } from '../../core/fleet-summary.ts';
import type { GitOpsRepo, RepoAnswers, RepoRef, Scm } from '../../ports.ts';
import { releaseHold, rollBack } from '../rollback.ts';

/** A box a person ticked, who ticked it, and whether they may act (write, maintain or admin, as for `/edgeship` commands). */
export interface AskedBox {
  action: DashboardAction;
  by: string;
  role: string;
  allowed: boolean;
}

/** The model's dashboard as the rollout step found it, and what its ticked boxes ask. */
export interface OpenDashboard {
  number: number;
  body: string;
  asked: AskedBox[];
}

const keyOf = (action: DashboardAction) =>
  `${action.kind}:${action.kind === 'release-hold' ? action.target : action.wave}`;

/**
 * The ticked boxes of a body and who ticked each: a person's edit makes every ticked box theirs;
 * in a body the bot wrote last, only the boxes it kept ticked for someone count, as that person's.
 */
function attributed(body: string, editor: { login: string; bot: boolean } | undefined): TickedBox[] {
  if (!editor) return [];
  if (!editor.bot) return tickedBoxes(body).map((box) => ({ action: box.action, by: editor.login }));
  return tickedBoxes(body).filter((box) => box.by !== undefined);
}

/**
 * Reads the model's dashboard and what its ticked boxes ask, each with its author's permission;
 * `issues`: the open issues with the dashboard label as a read just before found them.
 */
export async function openDashboard(
  scm: Scm,
  repo: RepoRef,
  model: string,
  issues?: RepoAnswers['issues'],
): Promise<OpenDashboard | undefined> {
  const title = dashboardTitle(model);
  const seen = issues?.find((issue) => issue.title === title);
  const found = issues ? seen : await scm.findIssue(repo, DASHBOARD_LABEL, title);
  if (!found) return undefined;
  const { body, editor } = seen ?? (await scm.readIssue(repo, found.number));
  const boxes = attributed(body, editor);
  const roles = new Map<string, string>();
  for (const by of new Set(boxes.map((box) => box.by as string))) roles.set(by, await scm.permissionOf(repo, by));
  const asked = boxes.map((box) => {
    const role = roles.get(box.by as string) ?? 'none';
    return { action: box.action, by: box.by as string, role, allowed: COMMAND_ROLES.has(role) };
  });
  return { number: found.number, body, asked };
}

export interface DashboardActs {
  /** Send the next wave in this step, as this person asked. */
  promote: boolean;
  promotedBy?: string;
  /** Answers to post on the dashboard issue, one per ticked box. */
  answers: string[];
}

/**
 * Does what the dashboard's ticked boxes ask, before the rollout step: a reader's ticks are only
 * answered (and unticked when the dashboard is written); a writer's roll a wave back or release a
 * hold here, each one commit, and a promote is left to the step (it sends the wave).
 */
export async function actOnDashboard(
  gitops: GitOpsRepo,
  config: EdgeshipConfig,
  version: string,
  waves: readonly Wave[],
  board: OpenDashboard | undefined,
): Promise<DashboardActs> {
  const acts: DashboardActs = { promote: false, answers: [] };
  const refused = new Set<string>();
  for (const { action, by, role, allowed } of board?.asked ?? []) {
    const who = `@${by}`;
    if (!allowed) {
      if (!refused.has(by))
        acts.answers.push(
          `${who}: the boxes of the fleet dashboard act for people with write, maintain or admin permission on this repository (yours: ${role}), so edgeship unticked them.`,
        );
      refused.add(by);
      continue;
    }
    const asked = `as ${who} asked on the fleet dashboard #${board?.number}`;
    if (action.kind === 'promote') {
      acts.promote = true;
      acts.promotedBy = by;
      continue;
    }
    if (action.kind === 'release-hold') {
      const commit = await releaseHold(
        gitops,
        config,
        action.target,
        `release-hold(${config.model}): ${action.target}\n\n${asked}`,
      );
      acts.answers.push(
        commit
          ? `${who}: released the hold on \`${action.target}\` (${commit.sha.slice(0, 7)}); the rollout takes it again from the next step.`
          : `${who}: \`${action.target}\` is not held; nothing to release.`,
      );
      continue;
    }
    const wave = waves.find((candidate) => candidate.name === action.wave);
    const commit =
      wave &&
      (await rollBack(gitops, config, {
        version,
        targets: wave.targets,
        status: 'rolled-back',
        reason: asked,
        message: `rollback(${config.model}): ${version} in wave ${wave.name}\n\n${asked}`,
      }));
    acts.answers.push(
      commit
        ? `${who}: rolled wave **${action.wave}** (${targetsInWords(wave?.targets ?? [])}) back from ${version} (${commit.sha.slice(0, 7)}); no further waves go out.`
        : `${who}: nothing to roll back in wave **${action.wave}**: no target there runs ${version} with an earlier release recorded.`,
    );
  }
  return acts;
}

/**
 * Writes the dashboard when what it shows changed: the first time it opens the issue. After
 * acting on ticks it always writes, so no handled box stays ticked to act again; it reads the
 * issue again first, and boxes a person ticked meanwhile stay ticked, as theirs, for the next step.
 */
export async function writeDashboard(
  scm: Scm,
  repo: RepoRef,
  input: DashboardInput,
  board: OpenDashboard | undefined,
  answers: readonly string[],
): Promise<void> {
  if (!board) {
    await scm.createIssue(repo, dashboardTitle(input.model), renderDashboard(input), [DASHBOARD_LABEL]);
    return;
  }
  for (const answer of answers) await scm.comment(repo, board.number, answer);
  if (board.asked.length === 0 && renderDashboard(input) === board.body) return;
  const now = await scm.readIssue(repo, board.number);
  const handled = new Set(board.asked.map((box) => keyOf(box.action)));
  const kept = attributed(now.body, now.editor).filter((box) => !handled.has(keyOf(box.action)));
  const body = renderDashboard(input, kept);
  if (body !== now.body) await scm.updateIssue(repo, board.number, body);
}
