import { COMMAND_HELP, COMMAND_ROLES, parseCommand } from '../../core/commands.ts';
import type { RepoRef } from '../../ports.ts';
import { runRolloutCommand, type RolloutCommandDeps } from './rollout-commands.ts';
import type { ClusterTrainingDeps } from './cluster-training.ts';
import { startTraining } from './start-training.ts';
import { approveBreaking } from './breaking-approval.ts';
import { claimCommand, type ClaimClock } from './command-claim.ts';

export interface CommandComment {
  id: number;
  issue: number;
  body: string;
  user: string;
  /** The branch to act on: the repository's default branch. */
  branch: string;
}

/**
 * Runs a `/edgeship` command from a comment:
 * 1. ignore comments that are not commands;
 * 2. check the author's permission through the collaborator API (not author_association);
 * 3. run the command (retrain here, the rollout commands in rollout-commands) and answer in a comment.
 * Taking it writes a claim (services/bot/command-claim), which becomes the answer: a redelivery,
 * another replica or a resync finds it and does nothing, and a claim left by a replica that died
 * expires, so a resync takes the command again.
 */
export async function runCommand(
  deps: RolloutCommandDeps & ClusterTrainingDeps & ClaimClock,
  repo: RepoRef,
  comment: CommandComment,
): Promise<string> {
  const command = parseCommand(comment.body);
  if (!command) return 'not-a-command';
  const { scm } = deps;
  // A command is taken once, by one replica, however often and wherever it is delivered.
  const claim = await claimCommand(scm, repo, comment.issue, comment.id, comment.user, deps);
  if (!claim) return 'already-taken';
  const { answer } = claim;
  const role = await scm.permissionOf(repo, comment.user);
  if (!COMMAND_ROLES.has(role)) {
    await answer(
      `@${comment.user} edgeship commands need write, maintain or admin permission on this repository (yours: ${role}).`,
    );
    return 'forbidden';
  }
  if ('error' in command) {
    await answer(`${command.error}\n\n${COMMAND_HELP}`);
    return 'unknown';
  }
  if (command.name === 'help') {
    await answer(COMMAND_HELP);
    return 'help';
  }
  if (command.name === 'allow-breaking') {
    await answer(await approveBreaking(scm, repo, comment.issue, comment.user));
    return command.name;
  }
  if (command.name !== 'retrain') {
    await answer(
      await runRolloutCommand(deps, repo, comment.branch, `as @${comment.user} asked in #${comment.issue}`, command),
    );
    return command.name;
  }
  const sha = await scm.branchHead(repo, comment.branch);
  if (!sha) {
    await answer(`There is no branch \`${comment.branch}\` to retrain.`);
    return 'no-branch';
  }
  const started = await startTraining(deps, {
    repo,
    sha,
    branch: comment.branch,
    reason: 'retrain',
    occurrence: String(comment.id),
    context: `retrain requested by @${comment.user} in #${comment.issue}`,
  });
  await answer(
    started === 'started' || started === 'already-started'
      ? `Training ${comment.branch} at ${sha.slice(0, 7)} again, as @${comment.user} asked; the release PR follows when it finishes.`
      : `Not retrained: ${started.replace(/-/g, ' ')}.`,
  );
  return started;
}
