import type { IncomingMessage, ServerResponse } from 'node:http';
import { messageOf } from '../core/errors.ts';

export const LIVENESS_PATH = '/healthz';
export const READINESS_PATH = '/readyz';

/**
 * The probes of the app's pods: liveness answers while the process serves HTTP; readiness
 * answers 200 only when the app can reach GitHub with its key (`reach`, at most once per
 * `cacheMs`, so probes of many replicas do not spend the app's rate limit), else 503 and why.
 */
export function probes(reach: () => Promise<unknown>, cacheMs = 10_000, now: () => number = Date.now) {
  let last: { at: number; problem: string | undefined } | undefined;
  let pending: Promise<string | undefined> | undefined;
  const check = async (): Promise<string | undefined> => {
    if (last && now() - last.at < cacheMs) return last.problem;
    pending ??= reach().then(
      () => undefined,
      (error: unknown) => `cannot reach GitHub as the app: ${messageOf(error).split('\n')[0]}`,
    );
    const problem = await pending;
    pending = undefined;
    last = { at: now(), problem };
    return problem;
  };
  return (request: IncomingMessage, response: ServerResponse): boolean => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' || (path !== LIVENESS_PATH && path !== READINESS_PATH)) return false;
    if (path === LIVENESS_PATH) {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return true;
    }
    void check().then((problem) =>
      response.writeHead(problem ? 503 : 200, { 'content-type': 'text/plain' }).end(`${problem ?? 'ready'}\n`),
    );
    return true;
  };
}
