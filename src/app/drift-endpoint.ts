import { siteDriftToken } from '../core/training-run.ts';
import { messageOf } from '../core/errors.ts';
import { parseEvidence, type DriftEvidence } from '../services/bot/drift.ts';
import type { RepoRef } from '../ports.ts';
import { bearerIs, postJsonEndpoint } from './post-endpoint.ts';

export const DRIFT_PATH = '/api/edgeship/drift';
const MAX_BODY = 64 * 1024;

/**
 * Drift evidence from edge servers: `POST /api/edgeship/drift` with `{"repo": "owner/name", …evidence}`
 * and `Authorization: Bearer <site token>`, the token `edgeship site-token` derives from
 * EDGESHIP_DRIFT_SECRET for that repo, model and site (checked in constant time). The evidence
 * is parsed strictly and handed to `receive`, which queues the retraining; evidence the app does
 * not take (a site that is not a target of the model, another model) is answered 403 with why.
 */
export function driftEndpoint(
  secret: string,
  receive: (repo: RepoRef, evidence: DriftEvidence) => Promise<string | undefined>,
) {
  const body = {
    what: 'drift evidence',
    maxBytes: MAX_BODY,
    notJson: 'expected a JSON body {"repo": "owner/name", "model", "site", "features": [...]}',
  };
  return postJsonEndpoint(DRIFT_PATH, body, (data, request, answer) => {
    const { repo, ...rest } = (data ?? {}) as { repo?: unknown };
    const match = typeof repo === 'string' ? /^([\w.-]+)\/([\w.-]+)$/.exec(repo) : null;
    if (!match) return answer(400, { error: 'repo: expected owner/name of the model repo' });
    let evidence: DriftEvidence;
    try {
      evidence = parseEvidence(rest, 'drift evidence');
    } catch (error) {
      return answer(400, { error: messageOf(error) });
    }
    if (!bearerIs(request, siteDriftToken(secret, match[0], evidence.model, evidence.site)))
      return answer(401, { error: 'expected Authorization: Bearer <the site token of this repo, model and site>' });
    receive({ owner: match[1] as string, repo: match[2] as string }, evidence).then(
      (refused) => (refused === undefined ? answer(202, { accepted: true }) : answer(403, { error: refused })),
      () => answer(503, { error: 'the app cannot reach the repository now; send again later' }),
    );
  });
}
