// Calendly's change strategy: Calendly has no change feed, so a sync reads a time window of
// the user's scheduled events, every page, both statuses. The first sync (no cursor) is FULL:
// 2 years back and 1 year forward; later ones are INCREMENTAL: 3 months back and 6 months
// forward (the seed's 84 % less data). Meetings that vanished from a full window are canceled,
// not deleted. The cursor only says "a full sync completed" (when); forcing a full sync is
// `update calendly_sync_state set calendly_initial_sync_complete = false`.
import type { Clock } from "../../clock.ts";
import type { ChangeStrategy } from "../../sync/types.ts";
import type { CalendlyClient } from "./client.ts";
import { meetingCanceled, meetingItem } from "./mapping.ts";

const DAY_MS = 86_400_000;
export const FULL_WINDOW = { backDays: 730, forwardDays: 365 } as const;
export const INCREMENTAL_WINDOW = { backDays: 91, forwardDays: 183 } as const;

export interface CalendlyStrategyOptions {
  client: CalendlyClient;
  /** The Calendly user URI (the connection's calendar). */
  userUri: string;
  clock: Clock;
  log?: (line: string) => void;
}

export function calendlyChangeStrategy(options: CalendlyStrategyOptions): ChangeStrategy {
  let window = { from: 0, to: 0 };
  return {
    async *pages({ cursor }) {
      const full = cursor === null;
      const span = full ? FULL_WINDOW : INCREMENTAL_WINDOW;
      const now = options.clock.now();
      window = { from: now - span.backDays * DAY_MS, to: now + span.forwardDays * DAY_MS };
      options.log?.(
        full
          ? "FULL SYNC: Fetching all Calendly events (2 years back, 1 year forward)"
          : "INCREMENTAL SYNC: Fetching recent Calendly events (3 months back, 6 months forward)",
      );
      let pageToken: string | null = null;
      let active = 0;
      let canceled = 0;
      do {
        const page = await options.client.listScheduledEvents({
          user: options.userUri,
          minStartTime: new Date(window.from).toISOString(),
          maxStartTime: new Date(window.to).toISOString(),
          pageToken,
        });
        pageToken = page.nextPageToken;
        for (const event of page.events) {
          if (meetingCanceled(event)) canceled++;
          else active++;
        }
        const items = page.events.map((event) => meetingItem(event, "sync"));
        if (pageToken) {
          yield { items, removedIds: [] };
        } else {
          options.log?.(
            `${
              full ? "FULL" : "INCREMENTAL"
            } fetch complete: ${active} active, ${canceled} canceled`,
          );
          yield { items, removedIds: [], nextCursor: new Date(now).toISOString() };
        }
      } while (pageToken);
    },
    // A full sync saw every meeting in its window: those it did not see were canceled.
    fullSyncSweep: () => ({ unseen: "cancel", windowFrom: window.from, windowTo: window.to }),
    requests: () => options.client.counters.requests,
    completionLine: (summary) =>
      `${summary.fullSync ? "FULL" : "INCREMENTAL"} Calendly sync complete: ` +
      `${summary.inserted} new, ${summary.updated} updated, ${summary.deleted} deleted`,
  };
}
