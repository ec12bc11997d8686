import type { IncomingMessage } from 'node:http';
import { siteVerdictSchema, verdictOf, type SiteVerdict, type VerdictBook } from '../core/analysis.ts';
import { messageOf } from '../core/errors.ts';
import { checkWith, jsonOrUndefined } from '../core/parse-json.ts';
import { siteDriftToken } from '../core/training-run.ts';
import { bearerIs, postJsonEndpoint, type JsonAnswer } from './post-endpoint.ts';

export const VERDICTS_PATH = '/api/edgeship/verdicts';
const MAX_BODY = 8 * 1024;
/** Marks a verdict one replica handed to the leader: it is recorded where it lands, never sent on. */
const FORWARDED = 'x-edgeship-forwarded';
/** How long a follower waits for the leader to take a verdict. */
const FORWARD_TIMEOUT_MS = 5_000;

/**
 * Who keeps the verdicts when the app runs as replicas: the leader steps the rollouts, so it
 * alone records them, and a follower hands each verdict on to where the leader is reached
 * (leader-election.ts writes it on the Lease).
 */
export interface VerdictLeadership {
  readonly isLeader: boolean;
  readonly leaderAddress: string | undefined;
}

/**
 * Analysis verdicts from edge sites: `POST /api/edgeship/verdicts` with
 * `{"repo": "owner/name", "model", "version", "site", "interval", "requests", "errors", "p99Ms",
 * "verdict", "why"}` and the site token of that repo, model and site (the drift evidence's). Each
 * (site, release, interval) is recorded once in `book`, in memory, and costs GitHub nothing: the
 * rollout tick reads the counts. 202 says whether it was new; a body that is not a verdict is 400.
 * With `leadership`, a follower checks the token and hands the verdict to the leader, answering
 * what the leader answered, or 503 while no leader is known or reachable (the site sends it again).
 */
export function verdictEndpoint(secret: string, book: VerdictBook, leadership?: VerdictLeadership) {
  const body = {
    what: 'an analysis verdict',
    maxBytes: MAX_BODY,
    notJson: 'expected a JSON body {"repo": "owner/name", "model", "version", "site", "interval", "verdict", ...}',
  };
  return postJsonEndpoint(VERDICTS_PATH, body, (data, request, answer) => {
    const { repo, ...rest } = (data ?? {}) as { repo?: unknown };
    if (typeof repo !== 'string' || !/^[\w.-]+\/[\w.-]+$/.test(repo))
      return answer(400, { error: 'repo: expected owner/name of the model repo' });
    let verdict: SiteVerdict;
    try {
      verdict = checkWith(siteVerdictSchema, rest, (issues) => new Error(`analysis verdict: ${issues.join('; ')}`));
    } catch (error) {
      return answer(400, { error: (error as Error).message });
    }
    if (!bearerIs(request, siteDriftToken(secret, repo, verdict.model, verdict.site)))
      return answer(401, { error: 'expected Authorization: Bearer <the site token of this repo, model and site>' });
    if (!leadership || leadership.isLeader || request.headers[FORWARDED] !== undefined)
      return answer(202, { recorded: book.record(repo, verdict, verdictOf(verdict)) });
    void forward(leadership.leaderAddress, { repo, ...verdict }, request, answer);
  });
}

/** Hands a checked verdict to the leader and answers what it answered. */
async function forward(
  address: string | undefined,
  verdict: object,
  request: IncomingMessage,
  answer: JsonAnswer,
): Promise<void> {
  const unavailable = (why: string) =>
    answer(503, { error: `this replica does not keep verdicts, and ${why}: send it again shortly` });
  if (!address) return unavailable('no replica leads just now');
  try {
    const response = await fetch(`${address.replace(/\/+$/, '')}${VERDICTS_PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: request.headers.authorization ?? '',
        [FORWARDED]: '1',
      },
      body: JSON.stringify(verdict),
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    const text = await response.text();
    if (response.status >= 500) return unavailable(`the leader answered ${response.status}`);
    const parsed = jsonOrUndefined(text);
    answer(
      response.status,
      typeof parsed === 'object' && parsed !== null
        ? parsed
        : { error: `the leader answered ${response.status} without JSON` },
    );
  } catch (error) {
    unavailable(`the leader could not be reached (${messageOf(error).split('\n')[0]})`);
  }
}
