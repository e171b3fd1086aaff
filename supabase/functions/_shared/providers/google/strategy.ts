// Google's change strategy for the sync core: events.list with sync tokens, page by page
// (paging.ts follows Google's documented protocol). A full sync reads events that end after
// now − pastDays; an incremental one reads everything Google reports since the token. A 410
// fullSyncRequired becomes CursorExpiredError, so the runner restarts in full and removes, at
// the end, whatever the full sync did not return.
import type { Clock } from "../../clock.ts";
import { type ChangeStrategy, CursorExpiredError } from "../../sync/types.ts";
import type { GoogleCalendarClient } from "./calendar_client.ts";
import { ProviderApiError } from "../../net/provider_error.ts";
import { toChangePage } from "./mirror.ts";
import { type EventLister, pageEventSync } from "./paging.ts";

export interface GoogleStrategyOptions {
  lister: EventLister & Partial<Pick<GoogleCalendarClient, "counters">>;
  calendarId: string;
  clock: Clock;
  /** How far back a full sync reads (days before now, on event end). */
  pastDays: number;
}

export function googleChangeStrategy(options: GoogleStrategyOptions): ChangeStrategy {
  return {
    async *pages({ cursor, timeZone }) {
      let zone = timeZone;
      const timeMin = cursor === null
        ? new Date(options.clock.now() - options.pastDays * 86_400_000).toISOString()
        : undefined;
      try {
        for await (
          const page of pageEventSync(options.lister, {
            calendarId: options.calendarId,
            syncToken: cursor,
            timeMin,
          })
        ) {
          zone = page.timeZone ?? zone;
          yield {
            ...toChangePage(page.items, zone ?? "UTC"),
            ...(page.nextSyncToken !== undefined ? { nextCursor: page.nextSyncToken } : {}),
            timeZone: zone,
          };
        }
      } catch (error) {
        if (error instanceof ProviderApiError && error.kind === "full_sync_required") {
          throw new CursorExpiredError(error.message);
        }
        throw error;
      }
    },
    // Google's full sync returns every live event in its window: what it did not return is gone.
    fullSyncSweep: () => ({ unseen: "delete", windowFrom: null, windowTo: null }),
    requests: () => options.lister.counters?.requests ?? 0,
  };
}
