import Bottleneck from 'bottleneck';
import { ProbotOctokit } from 'probot';

const MAX_RETRIES = 3;

interface ThrottleHandlerOptions {
  method: string;
  url: string;
}
type ThrottleHandler = (
  retryAfter: number,
  options: ThrottleHandlerOptions,
  octokit: { log: { warn: (message: string) => void } },
  retryCount: number,
) => boolean;

const retryLimited =
  (kind: string): ThrottleHandler =>
  (retryAfter, options, octokit, retryCount) => {
    octokit.log.warn(
      `${kind} rate limit on ${options.method} ${options.url}; retry ${retryCount + 1} of ${MAX_RETRIES} in ${retryAfter}s`,
    );
    return retryCount < MAX_RETRIES;
  };

/**
 * Probot's octokit with throttling on and rate limits retried. Probot's default gives up on
 * secondary rate limits, which would drop the work of the event that hit one; 5xx answers are
 * retried by @octokit/plugin-retry as usual. Content-creating requests (and GraphQL, which is a
 * POST) go one at a time, at least `writePacingMs` apart per process: 1 s by default (3 s for
 * those that notify people, such as comments), as GitHub asks; a GitHub Enterprise Server
 * without rate limits may take less (EDGESHIP_GITHUB_WRITE_PACING_MS, for both).
 */
export function edgeshipOctokit(writePacingMs?: number): typeof ProbotOctokit {
  const paced = (id: string) =>
    writePacingMs === undefined ? undefined : new Bottleneck.Group({ id, maxConcurrent: 1, minTime: writePacingMs });
  const [write, notifications] = [paced('edgeship-write'), paced('edgeship-notifications')];
  return ProbotOctokit.defaults((options: Record<string, unknown>) => ({
    ...options,
    throttle: {
      ...(options.throttle as object | undefined),
      enabled: true,
      onRateLimit: retryLimited('Primary'),
      onSecondaryRateLimit: retryLimited('Secondary'),
      ...(write && notifications && { write, notifications }),
    },
  }));
}

export const EdgeshipOctokit = edgeshipOctokit();
