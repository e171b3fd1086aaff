// Pure mapping from a Google events.list item to the facts the mirror keeps of it
// (providers/google/mirror.ts turns them into the core's MirrorItem).
//
// Times are stored as UTC instants. All-day events carry only dates (end exclusive); they are
// resolved to local midnight in the *calendar's* time zone (the list response `timeZone`), never
// UTC midnight — a classic bug that shifts all-day events by the UTC offset. Temporal (via
// temporal-polyfill, native when present) does the zone math, including DST days.

import { Temporal } from "temporal-polyfill";
import type { GoogleEvent, GoogleEventDateTime } from "./types.ts";

/**
 * Private extended property the bundle sets on every event it writes (write-back): its value
 * names the planned block, so echoes and human edits of our events are recognised. Keys longer
 * than 44 characters are silently dropped by Google.
 */
export const APP_EVENT_PROPERTY = "calendarSyncApp";

export interface MappedGoogleEvent {
  external_id: string;
  /** confirmed | tentative | cancelled (Google's default when absent: confirmed). */
  status: string;
  summary: string | null;
  /** ISO-8601 UTC instant; null only when Google omitted start (cancelled items). */
  starts_at: string | null;
  /** ISO-8601 UTC instant, exclusive; null only when Google omitted end (cancelled items). */
  ends_at: string | null;
  all_day: boolean;
  /** opaque (busy, default) | transparent (free). */
  transparency: string;
  /** responseStatus of the attendee with `self: true`; null if the calendar owner is not one. */
  self_response_status: string | null;
  /** default | outOfOffice | focusTime | workingLocation | birthday | fromGmail. */
  event_type: string;
  recurring_event_id: string | null;
  /** Instance's original start per the recurrence rule, as a UTC instant. */
  original_start_time: string | null;
  etag: string | null;
  external_updated_at: string | null;
  app_owned: boolean;
  /** The value of APP_EVENT_PROPERTY: the block this bundle wrote the event for. */
  app_tag: string | null;
  ical_uid: string | null;
}

function toIso(instant: Temporal.Instant): string {
  return new Date(instant.epochMilliseconds).toISOString();
}

/**
 * Resolves a Google start/end/originalStartTime to a UTC ISO instant.
 * - `date` → local midnight (start of day) of that date in `calendarTimeZone`.
 * - `dateTime` with offset → that instant.
 * - `dateTime` without offset (allowed when `timeZone` is set) → wall time in that zone
 *   (`compatible` disambiguation: gap times move forward, repeated times take the earlier one).
 */
export function resolveEventTime(
  value: GoogleEventDateTime | undefined,
  calendarTimeZone: string,
): { iso: string; allDay: boolean } | null {
  if (!value) return null;
  if (value.dateTime) {
    const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(value.dateTime.trim());
    if (hasOffset) return { iso: toIso(Temporal.Instant.from(value.dateTime)), allDay: false };
    const zdt = Temporal.PlainDateTime.from(value.dateTime).toZonedDateTime(
      value.timeZone ?? calendarTimeZone,
      { disambiguation: "compatible" },
    );
    return { iso: toIso(zdt.toInstant()), allDay: false };
  }
  if (value.date) {
    // startOfDay semantics: in zones where midnight does not exist, the first valid instant.
    const zdt = Temporal.PlainDate.from(value.date).toZonedDateTime({ timeZone: calendarTimeZone });
    return { iso: toIso(zdt.toInstant()), allDay: true };
  }
  return null;
}

function normaliseTimestamp(value: string | undefined): string | null {
  if (!value) return null;
  try {
    return toIso(Temporal.Instant.from(value));
  } catch {
    return null;
  }
}

export function isCancelled(item: GoogleEvent): boolean {
  return item.status === "cancelled";
}

/** The block tag of an event this bundle wrote, or null. */
export function appTagOf(
  item: { extendedProperties?: GoogleEvent["extendedProperties"] },
): string | null {
  const value = item.extendedProperties?.private?.[APP_EVENT_PROPERTY];
  return typeof value === "string" && value !== "" ? value : null;
}

export function isAppOwned(
  item: { extendedProperties?: GoogleEvent["extendedProperties"] },
): boolean {
  return appTagOf(item) !== null;
}

/**
 * Maps one events.list item. `calendarTimeZone` is the list response's `timeZone`; it must be a
 * valid IANA zone (Temporal throws RangeError otherwise).
 */
export function mapGoogleEvent(item: GoogleEvent, calendarTimeZone: string): MappedGoogleEvent {
  const start = resolveEventTime(item.start, calendarTimeZone);
  const end = resolveEventTime(item.end, calendarTimeZone);
  const self = item.attendees?.find((a) => a.self === true);
  return {
    external_id: item.id,
    status: item.status ?? "confirmed",
    summary: item.summary ?? null,
    starts_at: start?.iso ?? null,
    ends_at: end?.iso ?? null,
    all_day: start?.allDay ?? false,
    transparency: item.transparency ?? "opaque",
    self_response_status: self?.responseStatus ?? null,
    event_type: item.eventType ?? "default",
    recurring_event_id: item.recurringEventId ?? null,
    original_start_time: resolveEventTime(item.originalStartTime, calendarTimeZone)?.iso ?? null,
    etag: item.etag ?? null,
    external_updated_at: normaliseTimestamp(item.updated),
    app_owned: isAppOwned(item),
    app_tag: appTagOf(item),
    ical_uid: item.iCalUID ?? null,
  };
}
