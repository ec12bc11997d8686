import { fitWithin, GITHUB_LIMITS } from '../../core/github-limits.ts';
import type { IssueComment, RepoRef, Scm } from '../../ports.ts';

/** The marker of the answer to comment `id`: present once the command was taken. */
export const commandMarker = (id: number) => `<!-- edgeship:command:${id} -->`;

/** What a claim says until its answer replaces it. */
const TAKING = '<!-- edgeship:taking -->';

/**
 * A claim older than this whose answer never came was left by a replica that died: the command
 * is free again, for the leader's next resync. Commands answer within seconds; this is far beyond any.
 */
export const CLAIM_EXPIRES_MS = 15 * 60_000;

/** The clock claims are judged on, and how long one lasts unanswered (CLAIM_EXPIRES_MS by default). */
export interface ClaimClock {
  now?: (() => number) | undefined;
  claimExpiresMs?: number | undefined;
}

export type CommandState = 'free' | 'taken' | 'answered';

/** Where a command stands, from the app's comments that carry its marker. */
export function commandState(marked: readonly IssueComment[], clock: ClaimClock = {}): CommandState {
  if (marked.some((comment) => !comment.body.includes(TAKING))) return 'answered';
  return marked.some((comment) => live(comment, clock)) ? 'taken' : 'free';
}

/** A claim still being acted on (or an answer). */
const live = (comment: IssueComment, clock: ClaimClock) =>
  !comment.body.includes(TAKING) ||
  (clock.now?.() ?? Date.now()) - Date.parse(comment.updatedAt) < (clock.claimExpiresMs ?? CLAIM_EXPIRES_MS);

/**
 * Takes command `id` on the issue for this replica alone, or answers undefined when another has
 * it. Replicas take commands from webhooks and from a leader's resync at once, and GitHub has no
 * lock, so each writes its claim (a comment with the command's marker) and then reads the claims:
 * the oldest live one (GitHub's ids grow) wins, and the others delete theirs. A replica that
 * reads before a later claim is written wins rightly, and every later one sees it, so one replica
 * acts. The winner's claim becomes the answer (`answer`).
 */
export async function claimCommand(
  scm: Scm,
  repo: RepoRef,
  issue: number,
  id: number,
  user: string,
  clock: ClaimClock = {},
): Promise<{ answer: (text: string) => Promise<void> } | undefined> {
  const marker = commandMarker(id);
  if (commandState(await scm.markedComments(repo, issue, marker), clock) !== 'free') return undefined;
  const mine = await scm.comment(repo, issue, `Taking @${user}'s command…\n\n${TAKING}\n${marker}`);
  const marked = await scm.markedComments(repo, issue, marker);
  const rivals = marked.filter((comment) => comment.id !== mine);
  const winner = Math.min(mine, ...rivals.filter((comment) => live(comment, clock)).map((comment) => comment.id));
  if (winner !== mine) {
    await scm.deleteComment(repo, mine);
    return undefined;
  }
  // Claims of replicas that died before answering go: this one answers.
  for (const expired of rivals.filter((comment) => !live(comment, clock))) await scm.deleteComment(repo, expired.id);
  // The marker is what finds the answer again: a cut leaves it whole.
  return {
    answer: (text) =>
      scm.editComment(repo, mine, `${fitWithin(text, GITHUB_LIMITS.body - marker.length - 2)}\n\n${marker}`),
  };
}
