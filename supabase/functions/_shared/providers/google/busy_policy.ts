/**
 * Google's busy policy: which Google Calendar events block the user's time. The scheduling
 * engine never sees a Google event; the sync classifies each event once, when it is stored
 * (providers/google/mirror.ts), and the planner reads only the resulting busy intervals.
 *
 * Rules are evaluated top to bottom; the first matching row decides.
 *
 * | # | event                                                        | result                    |
 * |---|--------------------------------------------------------------|---------------------------|
 * | 0 | written by this bundle (a planned session block, `app_owned`) | free (it is the plan itself) |
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

/** What of a Google event the policy reads. */
export interface GoogleEventFacts {
  status: GoogleEventStatus;
  transparency: GoogleTransparency;
  self_response_status: GoogleResponseStatus | null;
  event_type: GoogleEventType;
  all_day: boolean;
  /** Written by this bundle (carries its private extended property). */
  app_owned?: boolean;
}

export interface BusyPolicyPrefs {
  /** Whether tentative time counts as busy (the user's preference; default true). */
  tentative_is_busy?: boolean;
}

/** Which row of the policy table decided; useful for logging and tests. */
export type BusyDecisionRule =
  | "app_owned"
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
export function classifyEvent(event: GoogleEventFacts, prefs: BusyPolicyPrefs = {}): BusyDecision {
  if (event.app_owned) return { busy: false, rule: "app_owned" };
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
export function isBusyEvent(event: GoogleEventFacts, prefs: BusyPolicyPrefs = {}): boolean {
  return classifyEvent(event, prefs).busy;
}
