// Turns one page of events.list into what the mirror stores: rows for live events (with the
// busy decision made once, by the shared busy policy) and ids of cancelled ones to remove.
import { type GoogleEvent, isCancelled, mapGoogleEvent } from "../google/mod.ts";
import { classifyEvent } from "../scheduling/busy_policy.ts";
import type { MirrorEventInput } from "./google_store.ts";

export interface MirrorPage {
  events: MirrorEventInput[];
  cancelledIds: string[];
}

export function toMirrorPage(items: GoogleEvent[], calendarTimeZone: string): MirrorPage {
  const events: MirrorEventInput[] = [];
  const cancelledIds: string[] = [];
  for (const item of items) {
    // Cancelled items (deleted events and cancelled instances of a series) are not busy and
    // leave the mirror; Google guarantees little more than their id.
    if (isCancelled(item)) {
      if (item.id) cancelledIds.push(item.id);
      continue;
    }
    const row = mapGoogleEvent(item, calendarTimeZone);
    if (!row.starts_at || !row.ends_at) continue;
    const policyInput = {
      status: row.status as "confirmed" | "tentative",
      transparency: row.transparency as "opaque" | "transparent",
      self_response_status: row.self_response_status as
        | "accepted"
        | "tentative"
        | "needsAction"
        | "declined"
        | null,
      event_type: row.event_type as "default",
      all_day: row.all_day,
    };
    // Stored with tentative counted as busy; is_tentative lets a user's preference free it.
    const decision = classifyEvent(policyInput, { tentative_is_busy: true });
    events.push({
      ...row,
      starts_at: row.starts_at,
      ends_at: row.ends_at,
      is_busy: decision.busy,
      is_tentative: decision.rule === "tentative",
    });
  }
  return { events, cancelledIds };
}
