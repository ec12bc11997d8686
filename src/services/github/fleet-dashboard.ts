import { COMMAND_ROLES } from '../../core/commands.ts';
import type { EdgeshipConfig, Wave } from '../../core/config.ts';
import { DASHBOARD_LABEL, dashboardTitle, renderDashboard, tickedActions, type DashboardAction, type DashboardInput } from '../../core/dashboard.ts';
import { targetsInWords } from '../../core/fleet-summary.ts';
import type { GitOpsRepo, RepoRef, Scm } from '../../ports.ts';
import { releaseHold, rollBack } from '../rollback.ts';

/** The model's dashboard as the rollout step found it, and what its ticked boxes ask. */
export interface OpenDashboard {
  number: number;
  body: string;
  /** Boxes a person ticked since the bot last wrote the issue. */
  asked: DashboardAction[];
  /** Who ticked them, and whether that person may act (write, maintain or admin, as for `/edgeship` commands). */
  by?: string;
  role?: string;
  allowed: boolean;
}

const keyOf = (action: DashboardAction) => `${action.kind}:${action.kind === 'release-hold' ? action.target : action.wave}`;

/**
 * Reads the model's dashboard and what its boxes ask. Only a person's edit counts: the boxes are
 * read when the issue's last editor is not a bot, so a box the bot itself wrote never acts.
 */
export async function openDashboard(scm: Scm, repo: RepoRef, model: string): Promise<OpenDashboard | undefined> {
  const found = await scm.findIssue(repo, DASHBOARD_LABEL, dashboardTitle(model));
  if (!found) return undefined;
  const { body, editor } = await scm.readIssue(repo, found.number);
  const asked = editor && !editor.bot ? tickedActions(body) : [];
  if (!editor || asked.length === 0) return { number: found.number, body, asked: [], allowed: false };
  const role = await scm.permissionOf(repo, editor.login);
  return { number: found.number, body, asked, by: editor.login, role, allowed: COMMAND_ROLES.has(role) };
}

export interface DashboardActs {
  /** Send the next wave in this step. */
  promote: boolean;
  /** Answers to post on the dashboard issue, one per ticked box. */
  answers: string[];
}

/**
 * Does what the dashboard's ticked boxes ask, before the rollout step: a reader's ticks are only
 * answered (and unticked when the dashboard is written); a writer's roll a wave back or release a
 * hold here, each one commit, and a promote is left to the step (it sends the wave).
 */
export async function actOnDashboard(gitops: GitOpsRepo, config: EdgeshipConfig, version: string, waves: readonly Wave[], board: OpenDashboard | undefined): Promise<DashboardActs> {
  const acts: DashboardActs = { promote: false, answers: [] };
  if (!board || board.asked.length === 0) return acts;
  const who = `@${board.by ?? 'someone'}`;
  if (!board.allowed) {
    acts.answers.push(`${who}: the boxes of the fleet dashboard act for people with write, maintain or admin permission on this repository (yours: ${board.role ?? 'none'}), so edgeship unticked them.`);
    return acts;
  }
  const asked = `as ${who} asked on the fleet dashboard #${board.number}`;
  for (const action of board.asked) {
    if (action.kind === 'promote') {
      acts.promote = true;
      continue;
    }
    if (action.kind === 'release-hold') {
      const commit = await releaseHold(gitops, config, action.target, `release-hold(${config.model}): ${action.target}\n\n${asked}`);
      acts.answers.push(commit ? `${who}: released the hold on \`${action.target}\` (${commit.sha.slice(0, 7)}); the rollout takes it again from the next step.` : `${who}: \`${action.target}\` is not held; nothing to release.`);
      continue;
    }
    const wave = waves.find((candidate) => candidate.name === action.wave);
    const commit = wave && (await rollBack(gitops, config, { version, targets: wave.targets, status: 'rolled-back', reason: asked, message: `rollback(${config.model}): ${version} in wave ${wave.name}\n\n${asked}` }));
    acts.answers.push(commit ? `${who}: rolled wave **${action.wave}** (${targetsInWords(wave?.targets ?? [])}) back from ${version} (${commit.sha.slice(0, 7)}); no further waves go out.` : `${who}: nothing to roll back in wave **${action.wave}**: no target there runs ${version} with an earlier release recorded.`);
  }
  return acts;
}

/**
 * Writes the dashboard when what it shows changed: the first time it opens the issue. Before it
 * writes it reads the issue again; boxes a person ticked meanwhile are left for the next step to
 * act on (the issue is not written over them).
 */
export async function writeDashboard(scm: Scm, repo: RepoRef, input: DashboardInput, board: OpenDashboard | undefined, answers: readonly string[]): Promise<void> {
  if (!board) {
    await scm.createIssue(repo, dashboardTitle(input.model), renderDashboard(input), [DASHBOARD_LABEL]);
    return;
  }
  for (const answer of answers) await scm.comment(repo, board.number, answer);
  const body = renderDashboard(input);
  if (body === board.body && board.asked.length === 0) return;
  const now = await scm.readIssue(repo, board.number);
  const handled = new Set(board.asked.map(keyOf));
  const fresh = now.editor && !now.editor.bot ? tickedActions(now.body).filter((action) => !handled.has(keyOf(action))) : [];
  if (fresh.length > 0 || body === now.body) return;
  await scm.updateIssue(repo, board.number, body);
}
