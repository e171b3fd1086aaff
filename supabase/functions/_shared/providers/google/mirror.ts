// Turns one page of Google's events.list into the core's change page: live events become
// mirror items (classified once, by Google's busy policy, with Google's own fields kept in
// `details`), cancelled ones become removed ids.
import type { ChangePage, MirrorItem } from "../../sync/types.ts";
import { classifyEvent, type GoogleEventFacts } from "./busy_policy.ts";
import { isCancelled, mapGoogleEvent } from "./event_mapping.ts";
import type { GoogleEvent } from "./types.ts";

export function toChangePage(
  items: GoogleEvent[],
  calendarTimeZone: string,
): Pick<ChangePage, "items" | "removedIds"> {
  const mirrorItems: MirrorItem[] = [];
  const removedIds: string[] = [];
  for (const item of items) {
    // Cancelled items (deleted events and cancelled instances of a series) are not busy and
    // leave the mirror; Google guarantees little more than their id.
    if (isCancelled(item)) {
      if (item.id) removedIds.push(item.id);
      continue;
    }
    const event = mapGoogleEvent(item, calendarTimeZone);
    if (!event.starts_at || !event.ends_at) continue;
    const facts = {
      status: event.status,
      transparency: event.transparency,
      self_response_status: event.self_response_status,
      event_type: event.event_type,
      all_day: event.all_day,
      app_owned: event.app_owned,
    } as GoogleEventFacts;
    // Stored with tentative counted as busy; is_tentative lets a user's preference free it.
    const decision = classifyEvent(facts, { tentative_is_busy: true });
    // Events with empty or inverted times are never busy.
    const hasDuration = Date.parse(event.ends_at) > Date.parse(event.starts_at);
    mirrorItems.push({
      external_id: event.external_id,
      summary: event.summary,
      starts_at: event.starts_at,
      ends_at: hasDuration ? event.ends_at : event.starts_at,
      all_day: event.all_day,
      status: event.status === "tentative" ? "tentative" : "confirmed",
      is_busy: decision.busy && hasDuration,
      is_tentative: decision.rule === "tentative",
      app_tag: event.app_tag,
      etag: event.etag,
      external_updated_at: event.external_updated_at,
      details: {
        transparency: event.transparency,
        self_response_status: event.self_response_status,
        event_type: event.event_type,
        recurring_event_id: event.recurring_event_id,
        original_start_time: event.original_start_time,
        ical_uid: event.ical_uid,
        busy_rule: decision.rule,
      },
    });
  }
  return { items: mirrorItems, removedIds };
}
