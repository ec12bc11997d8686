import { siteVerdictSchema, verdictOf, type SiteVerdict, type VerdictBook } from '../core/analysis.ts';
import { checkWith } from '../core/parse-json.ts';
import { siteDriftToken } from '../core/training-run.ts';
import { bearerIs, postJsonEndpoint } from './post-endpoint.ts';

export const VERDICTS_PATH = '/api/edgeship/verdicts';
const MAX_BODY = 8 * 1024;

/**
 * Analysis verdicts from edge sites: `POST /api/edgeship/verdicts` with
 * `{"repo": "owner/name", "model", "version", "site", "interval", "requests", "errors", "p99Ms",
 * "verdict", "why"}` and the site token of that repo, model and site (the drift evidence's). Each
 * (site, release, interval) is recorded once in `book`, in memory, and costs GitHub nothing: the
 * rollout tick reads the counts. 202 says whether it was new; a body that is not a verdict is 400.
 */
export function verdictEndpoint(secret: string, book: VerdictBook) {
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
    answer(202, { recorded: book.record(repo, verdict, verdictOf(verdict)) });
  });
}
