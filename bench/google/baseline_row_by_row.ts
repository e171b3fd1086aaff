// The naive Google full sync the benchmark compares against: what straightforward Supabase code
// does. It pages events.list with Google's default page size (maxResults=250) using plain fetch,
// and writes every event with its own PostgREST INSERT through supabase-js (one HTTP request and
// one database statement per event, awaited one after the other). No sync token is stored, no
// idempotency, no generation bookkeeping: it is the cost floor of "list, then insert each".
import type { SupabaseClient } from "@supabase/supabase-js";

export interface RowByRowOptions {
  /** Root of the emulator (or Google): `${root}/calendar/v3/...`. */
  apiRoot: string;
  accessToken: string;
  calendarId: string;
  connectionId: string;
  userId: string;
  db: SupabaseClient;
  /** Lower bound on event end, as the project's full sync uses. */
  timeMin: string;
  /** Stop after inserting this many events (for extrapolation); default: all. */
  limit?: number;
}

export interface RowByRowResult {
  listCalls: number;
  /** One PostgREST request (one INSERT) per event. */
  dbRoundTrips: number;
  inserted: number;
  ms: number;
}

interface ListedEvent {
  id: string;
  status?: string;
  summary?: string;
  start?: { dateTime?: string; date?: string };
  end?: { dateTime?: string; date?: string };
  transparency?: string;
  etag?: string;
  updated?: string;
  iCalUID?: string;
  recurringEventId?: string;
  eventType?: string;
}

interface ListedPage {
  items?: ListedEvent[];
  nextPageToken?: string;
  nextSyncToken?: string;
}

/** A deliberately simple mapping (timed events; all-day dates taken as UTC midnight). */
function toRow(event: ListedEvent, options: RowByRowOptions) {
  const allDay = !event.start?.dateTime;
  const start = event.start?.dateTime ?? `${event.start?.date}T00:00:00Z`;
  const end = event.end?.dateTime ?? `${event.end?.date}T00:00:00Z`;
  const transparency = event.transparency === "transparent" ? "transparent" : "opaque";
  const status = event.status === "tentative" ? "tentative" : "confirmed";
  return {
    provider: "google",
    connection_id: options.connectionId,
    user_id: options.userId,
    calendar_id: options.calendarId,
    external_id: event.id,
    summary: event.summary ?? null,
    starts_at: start,
    ends_at: end,
    all_day: allDay,
    status,
    etag: event.etag ?? null,
    external_updated_at: event.updated ?? null,
    is_busy: transparency === "opaque",
    is_tentative: status === "tentative",
    details: {
      transparency,
      event_type: event.eventType ?? "default",
      recurring_event_id: event.recurringEventId ?? null,
      ical_uid: event.iCalUID ?? null,
    },
  };
}

export async function rowByRowFullSync(options: RowByRowOptions): Promise<RowByRowResult> {
  const started = performance.now();
  const limit = options.limit ?? Infinity;
  const result: RowByRowResult = { listCalls: 0, dbRoundTrips: 0, inserted: 0, ms: 0 };
  const base = `${options.apiRoot.replace(/\/+$/, "")}/calendar/v3/calendars/${
    encodeURIComponent(options.calendarId)
  }/events`;
  let pageToken: string | undefined;
  do {
    const query = new URLSearchParams({
      maxResults: "250",
      singleEvents: "true",
      timeMin: options.timeMin,
    });
    if (pageToken) query.set("pageToken", pageToken);
    result.listCalls++;
    const response = await fetch(`${base}?${query}`, {
      headers: { authorization: `Bearer ${options.accessToken}` },
    });
    if (!response.ok) {
      throw new Error(`events.list → ${response.status}: ${await response.text()}`);
    }
    const page = await response.json() as ListedPage;
    for (const event of page.items ?? []) {
      if (result.inserted >= limit) break;
      if (event.status === "cancelled") continue;
      result.dbRoundTrips++;
      const { error } = await options.db.from("calendar_events").insert(toRow(event, options));
      if (error) throw new Error(`insert ${event.id}: ${error.message}`);
      result.inserted++;
    }
    pageToken = page.nextPageToken;
  } while (pageToken && result.inserted < limit);
  result.ms = performance.now() - started;
  return result;
}
