import { ProbotOctokit } from 'probot';

const MAX_RETRIES = 3;

interface ThrottleHandlerOptions {
  method: string;
  url: string;
}
type ThrottleHandler = (retryAfter: number, options: ThrottleHandlerOptions, octokit: { log: { warn: (message: string) => void } }, retryCount: number) => boolean;

const retryLimited =
  (kind: string): ThrottleHandler =>
  (retryAfter, options, octokit, retryCount) => {
    octokit.log.warn(`${kind} rate limit on ${options.method} ${options.url}; retry ${retryCount + 1} of ${MAX_RETRIES} in ${retryAfter}s`);
    return retryCount < MAX_RETRIES;
  };

/**
 * Probot's octokit with throttling on and rate limits retried. Probot's default gives up on
 * secondary rate limits, which would drop the work of the event that hit one; 5xx answers are
 * retried by @octokit/plugin-retry as usual.
 */
export const EdgeshipOctokit = ProbotOctokit.defaults((options: Record<string, unknown>) => ({
  ...options,
  throttle: {
    ...(options.throttle as object | undefined),
    enabled: true,
    onRateLimit: retryLimited('Primary'),
    onSecondaryRateLimit: retryLimited('Secondary'),
  },
}));
