import type { Probot } from 'probot';
import type { Logger } from '../ports.ts';

/** How far back the sweep looks: GitHub keeps deliveries 3 days; a few hours cover any outage the sweep outlived. */
export const REDELIVERY_WINDOW_MS = 6 * 3_600_000;

/**
 * Asks GitHub to deliver again each webhook it failed to deliver to the app (nothing answered,
 * or not a 2xx) in the last `windowMs`, once per delivery: a delivery that later succeeded, or
 * that was delivered again already (by this sweep, another replica's, or a person), is left
 * alone. `asked` holds the guids this process asked for, so a redelivery GitHub has not listed
 * yet is not asked for twice. Runs on the leader only.
 */
export async function redeliverFailed(
  app: Probot,
  deps: { log: Logger; asked: Set<string>; now?: () => number; windowMs?: number },
): Promise<number> {
  const since = (deps.now ?? Date.now)() - (deps.windowMs ?? REDELIVERY_WINDOW_MS);
  const octokit = await app.auth();
  const byGuid = new Map<
    string,
    { succeeded: boolean; redelivered: boolean; failed?: { id: number; event: string } }
  >();
  // Newest first: stop at the first page that reaches past the window.
  for await (const { data } of octokit.paginate.iterator(octokit.rest.apps.listWebhookDeliveries, { per_page: 100 })) {
    const recent = data.filter((delivery) => Date.parse(delivery.delivered_at) >= since);
    for (const delivery of recent) {
      const seen = byGuid.get(delivery.guid) ?? { succeeded: false, redelivered: false };
      const ok = delivery.status_code >= 200 && delivery.status_code < 300;
      seen.succeeded ||= ok;
      seen.redelivered ||= delivery.redelivery;
      if (!ok && !delivery.redelivery && !seen.failed) seen.failed = { id: delivery.id, event: delivery.event };
      byGuid.set(delivery.guid, seen);
    }
    if (recent.length < data.length) break;
  }
  let asked = 0;
  for (const [guid, seen] of byGuid) {
    if (seen.succeeded || seen.redelivered || !seen.failed || deps.asked.has(guid)) continue;
    deps.asked.add(guid);
    await octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: seen.failed.id });
    deps.log.info(
      { guid, event: seen.failed.event, delivery: seen.failed.id },
      'Asked GitHub to deliver a failed webhook again',
    );
    asked += 1;
  }
  return asked;
}
