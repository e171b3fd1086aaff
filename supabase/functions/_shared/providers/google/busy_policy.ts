/**
 * THE busy policy: which mirrored calendar events block time. The engine itself only sees
 * already-classified {@link BusySource} intervals; this module is the single place where a
 * Google Calendar event row becomes (or does not become) busy time.
 *
 * Rules are evaluated top to bottom; the first matching row decides.
 *
 * | # | event                                                        | result                    |
 * |---|--------------------------------------------------------------|---------------------------|
 * | 1 | `status = "cancelled"`                                       | free                      |
 * | 2 | `transparency = "transparent"` ("show me as available")      | free                      |
 * | 3 | `self_response_status = "declined"`                          | free                      |
 * | 4 | `event_type = "workingLocation"` or `"birthday"`             | free                      |
 * | 5 | `event_type = "outOfOffice"` (all-day or timed)              | busy                      |
 * | 6 | `all_day = true` (any other type)                            | free                      |
 * | 7 | `event_type = "focusTime"`                                   | busy                      |
 * | 8 | `status = "tentative"` or `self_response_status = "tentative"` | busy iff `tentative_is_busy` (default true) |
 * | 9 | `self_response_status = "needsAction"` (unanswered invite)   | busy                      |
 * |10 | anything else (opaque, confirmed, accepted / organiser / null) | busy                    |
 *
 * Notes on the choices:
 * - Unanswered invitations (row 9) count as busy, as Motion does: the meeting will most likely
 *   happen and moving a focus block later is worse than leaving a slot free. (Reclaim treats
 *   them as free; change row 9 here if the product decides otherwise.)
 * - Row 5 precedes row 6 so an all-day out-of-office blocks the whole day.
 * - `event_type = "fromGmail"` (flights, reservations) follows the generic rows.
 * - Events with unparsable or empty times (`ends_at <= starts_at`) are never busy.
 */
import type { BusySource, Preferences } from "./types.ts";

export type GoogleEventStatus = "confirmed" | "tentative" | "cancelled";
export type GoogleTransparency = "opaque" | "transparent";
export type GoogleResponseStatus = "accepted" | "tentative" | "needsAction" | "declined";
export type GoogleEventType =
  | "default"
  | "outOfOffice"
  | "focusTime"
  | "workingLocation"
  | "birthday"
  | "fromGmail";

/** A mirrored Google Calendar event row (only the fields the policy needs). */
export interface CalendarEventRow {
  id: string;
  status: GoogleEventStatus;
  transparency: GoogleTransparency;
  self_response_status: GoogleResponseStatus | null;
  event_type: GoogleEventType;
  all_day: boolean;
  /** ISO 8601 instant string (with offset) or epoch ms. */
  starts_at: string | number;
  /** ISO 8601 instant string (with offset) or epoch ms. Exclusive. */
  ends_at: string | number;
}

export type BusyPolicyPrefs = Pick<Preferences, "tentative_is_busy">;

/** Which row of the policy table decided; useful for logging and tests. */
export type BusyDecisionRule =
  | "cancelled"
  | "transparent"
  | "declined"
  | "working_location_or_birthday"
  | "out_of_office"
  | "all_day"
  | "focus_time"
  | "tentative"
  | "needs_action"
  | "default";

export interface BusyDecision {
  busy: boolean;
  rule: BusyDecisionRule;
}

/** Classifies an event according to the table above (ignores its times). */
export function classifyEvent(
  event: Omit<CalendarEventRow, "id" | "starts_at" | "ends_at">,
  prefs: BusyPolicyPrefs = {},
): BusyDecision {
  if (event.status === "cancelled") return { busy: false, rule: "cancelled" };
  if (event.transparency === "transparent") return { busy: false, rule: "transparent" };
  if (event.self_response_status === "declined") return { busy: false, rule: "declined" };
  if (event.event_type === "workingLocation" || event.event_type === "birthday") {
    return { busy: false, rule: "working_location_or_birthday" };
  }
  if (event.event_type === "outOfOffice") return { busy: true, rule: "out_of_office" };
  if (event.all_day) return { busy: false, rule: "all_day" };
  if (event.event_type === "focusTime") return { busy: true, rule: "focus_time" };
  if (event.status === "tentative" || event.self_response_status === "tentative") {
    return { busy: prefs.tentative_is_busy ?? true, rule: "tentative" };
  }
  if (event.self_response_status === "needsAction") return { busy: true, rule: "needs_action" };
  return { busy: true, rule: "default" };
}

/** True if the event blocks time under the policy (ignores its times). */
export function isBusyEvent(
  event: Omit<CalendarEventRow, "id" | "starts_at" | "ends_at">,
  prefs: BusyPolicyPrefs = {},
): boolean {
  return classifyEvent(event, prefs).busy;
}

function toEpochMs(v: string | number): number {
  return typeof v === "number" ? v : Date.parse(v);
}

/**
 * Converts a mirrored Google event row into a busy interval, or `null` when it is free under
 * the policy or has no valid time range. All-day OOO rows are expected to carry the instants
 * of the local day boundaries (as mirrored), which are used as-is.
 */
export function calendarEventToBusy(
  event: CalendarEventRow,
  prefs: BusyPolicyPrefs = {},
  source = "google",
): BusySource | null {
  if (!isBusyEvent(event, prefs)) return null;
  const start = toEpochMs(event.starts_at);
  const end = toEpochMs(event.ends_at);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) return null;
  return { source, id: event.id, start, end };
}

/** Maps a list of event rows to busy intervals (free ones dropped). */
export function calendarEventsToBusy(
  events: readonly CalendarEventRow[],
  prefs: BusyPolicyPrefs = {},
  source = "google",
): BusySource[] {
  const out: BusySource[] = [];
  for (const e of events) {
    const b = calendarEventToBusy(e, prefs, source);
    if (b !== null) out.push(b);
  }
  return out;
}
