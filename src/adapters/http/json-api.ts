import pRetry, { AbortError } from 'p-retry';
import { EdgeshipError, messageOf } from '../../core/errors.ts';
import { jsonOrUndefined, parseJson } from '../../core/parse-json.ts';

export interface JsonRequest {
  method: 'GET' | 'POST';
  /** Full URL of the call. */
  url: string;
  body?: object;
  token?: string;
  timeoutMs?: number;
}

/** A JSON API that answered with an error status; `detail` is its JSON error body, if any. */
export interface JsonFailure {
  status: number;
  detail: Record<string, unknown>;
  text: string;
}

/**
 * One call to a JSON REST API (MLflow, Kubeflow Pipelines) with a bearer token, a timeout and
 * retries on 5xx, 429 and connection failures; 4xx answers are not retried. `unreachable`
 * words the error when nothing answers, `failed` the error of an error answer.
 */
export async function callJson(
  request: JsonRequest,
  errors: { unreachable: string; failed: (failure: JsonFailure) => EdgeshipError },
): Promise<unknown> {
  return pRetry(
    async () => {
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: {
            'content-type': 'application/json',
            ...(request.token && { authorization: `Bearer ${request.token}` }),
          },
          ...(request.body && { body: JSON.stringify(request.body) }),
          signal: AbortSignal.timeout(request.timeoutMs ?? 10_000),
          // A bearer token goes to the URL the operator allowed and nowhere a redirect points.
          redirect: request.token ? 'error' : 'follow',
        });
      } catch (error) {
        throw new EdgeshipError(`${errors.unreachable}: ${messageOf(error)}`, { cause: error });
      }
      const text = await response.text();
      // The service's answer; each caller checks the fields it reads.
      if (response.ok)
        return text
          ? parseJson(
              text,
              (issues) => new EdgeshipError(`${request.url} answered ${response.status}: ${issues.join('; ')}`),
            )
          : {};
      // An error's body may be JSON with details, or text that says it.
      const parsed = text.startsWith('{') ? jsonOrUndefined(text) : undefined;
      const detail = (parsed !== null && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
      const error = errors.failed({ status: response.status, detail, text });
      // Client errors do not get better by retrying.
      throw response.status < 500 && response.status !== 429 ? new AbortError(error) : error;
    },
    { retries: 2, minTimeout: 200 },
  );
}
