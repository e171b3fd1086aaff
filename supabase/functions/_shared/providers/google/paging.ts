// Google's documented events.list synchronisation loop (full or incremental), page by page.
//
// Rules encoded here (Calendar "Synchronize resources efficiently" guide + events.list reference):
//  - every page repeats the exact same query; only `pageToken` is added;
//  - `nextSyncToken` exists only on the last page, so the caller may store it only after
//    consuming every page (and in the same transaction as the page's changes);
//  - pages can be empty yet carry `nextPageToken`: keep going;
//  - incremental requests must not carry timeMin/timeMax/updatedMin/orderBy/q/iCalUID/
//    *ExtendedProperty (400) and must keep all other params identical to the full sync;
//  - 410 fullSyncRequired surfaces as a GoogleApiError (kind full_sync_required) — never
//    swallowed, because a swallowed 410 left deleted events in the mirror forever elsewhere.
// Retries happen inside `listEvents`, so a transient failure repeats only that page's request.

import { GoogleApiError } from "./errors.ts";
import type { GoogleEvent, GoogleEventsPage, ListEventsParams } from "./types.ts";

/** Page size cap allowed by Google; fewer round trips, fewer quota units. */
export const SYNC_PAGE_SIZE = 2500;

/** Params shared by full and incremental syncs (must be identical in both). */
export const SYNC_BASE_PARAMS = {
  maxResults: SYNC_PAGE_SIZE,
  // Instances instead of recurring masters: busy time is computed per instance.
  singleEvents: true,
  // Cancelled instances/events are needed to delete mirror rows; incremental always includes
  // them anyway, and keeping the flag on both keeps the query identical.
  showDeleted: true,
} as const satisfies ListEventsParams;

export interface EventSyncOptions {
  calendarId: string;
  /** From the last completed sync; null/absent → full sync. */
  syncToken?: string | null;
  /** Lower bound (exclusive, on event end) for the FULL sync only; ignored when incremental. */
  timeMin?: string;
  /** Safety stop against a server that never finishes. Default 10 000 pages. */
  maxPages?: number;
}

export interface EventSyncPage {
  items: GoogleEvent[];
  /** The page token used to fetch this page; null for the first page. */
  pageToken: string | null;
  nextPageToken?: string;
  /** Present only on the last page. */
  nextSyncToken?: string;
  /** Calendar time zone reported by Google (carried forward if a page omits it). */
  timeZone: string | null;
  isFullSync: boolean;
}

export interface EventLister {
  listEvents(calendarId: string, params: ListEventsParams): Promise<GoogleEventsPage>;
}

function protocolError(message: string): GoogleApiError {
  return new GoogleApiError({ kind: "permanent", status: 200, reason: "syncProtocol", message });
}

export async function* pageEventSync(
  client: EventLister,
  options: EventSyncOptions,
): AsyncGenerator<EventSyncPage, void, undefined> {
  const isFullSync = !options.syncToken;
  const query: ListEventsParams = isFullSync
    ? { ...SYNC_BASE_PARAMS, ...(options.timeMin ? { timeMin: options.timeMin } : {}) }
    : { ...SYNC_BASE_PARAMS, syncToken: options.syncToken! };
  const maxPages = options.maxPages ?? 10_000;
  let pageToken: string | null = null;
  let timeZone: string | null = null;
  const seenTokens = new Set<string>();

  for (let pages = 1;; pages++) {
    const page = await client.listEvents(
      options.calendarId,
      pageToken === null ? { ...query } : { ...query, pageToken },
    );
    timeZone = page.timeZone ?? timeZone;
    const out: EventSyncPage = { items: page.items ?? [], pageToken, timeZone, isFullSync };
    if (page.nextPageToken) out.nextPageToken = page.nextPageToken;
    if (page.nextSyncToken && !page.nextPageToken) out.nextSyncToken = page.nextSyncToken;
    yield out;

    if (!page.nextPageToken) {
      if (!page.nextSyncToken) {
        throw protocolError("events.list ended without nextPageToken or nextSyncToken");
      }
      return;
    }
    if (seenTokens.has(page.nextPageToken)) {
      throw protocolError("events.list returned a page token it already returned (loop)");
    }
    if (pages >= maxPages) throw protocolError(`events.list exceeded ${maxPages} pages`);
    seenTokens.add(page.nextPageToken);
    pageToken = page.nextPageToken;
  }
}
