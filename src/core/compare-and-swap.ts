import pRetry from 'p-retry';
import { GitOpsError } from './errors.ts';

/** What one compare-and-swap attempt answers when someone else committed first. */
export const CONFLICT = 'conflict';

export interface SwapRetry {
  /** How long a writer keeps trying while others keep landing first. */
  deadlineMs: number;
  /** The first wait, doubled each time up to `maxWaitMs`, each drawn at random between 1× and 2×. */
  minWaitMs: number;
  maxWaitMs: number;
}

/** Eight writers on one branch all land within a few seconds; two minutes leaves room for a busy forge. */
export const SWAP_RETRY: SwapRetry = { deadlineMs: 120_000, minWaitMs: 50, maxWaitMs: 2_000 };

class Conflict extends Error {}

/**
 * Runs a compare-and-swap write until it lands. An attempt that answers CONFLICT is tried again
 * from a fresh read after a jittered, growing wait (so writers that collided once do not collide
 * again in lockstep), until the deadline; any error is thrown at once.
 */
export async function untilSwapped<T>(
  where: string,
  attempt: () => Promise<T | typeof CONFLICT>,
  retry: SwapRetry = SWAP_RETRY,
): Promise<T> {
  let attempts = 0;
  const started = Date.now();
  try {
    return await pRetry(
      async () => {
        attempts += 1;
        const result = await attempt();
        if (result === CONFLICT) throw new Conflict();
        return result;
      },
      {
        retries: Infinity,
        maxRetryTime: retry.deadlineMs,
        minTimeout: retry.minWaitMs,
        maxTimeout: retry.maxWaitMs,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof Conflict,
      },
    );
  } catch (error) {
    if (!(error instanceof Conflict)) throw error;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    throw new GitOpsError(
      `${where} kept moving: others committed first in each of ${attempts} attempts over ${seconds} s; try again when fewer writers share the branch`,
    );
  }
}
