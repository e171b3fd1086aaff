// The sync core without a server: a fake store (the SQL functions' contract) and a fake Google.
import assert from "node:assert/strict";
import { syncGoogleCalendar } from "../../../supabase/functions/_shared/calendar_sync/google_sync.ts";
import type {
  GoogleSyncStore,
  StorePageInput,
  SyncClaim,
} from "../../../supabase/functions/_shared/calendar_sync/google_store.ts";
import {
  type EventLister,
  GoogleApiError,
  type GoogleEventsPage,
  type ListEventsParams,
  ReauthRequiredError,
} from "../../../supabase/functions/_shared/google/mod.ts";

const target = { connectionId: "conn-1", calendarId: "a@example.test" };
const NOW = Date.parse("2026-11-21T12:00:00Z");

function event(id: string, hour: number) {
  const start = new Date(NOW + hour * 3600_000).toISOString();
  const end = new Date(NOW + (hour + 1) * 3600_000).toISOString();
  return {
    id,
    status: "confirmed",
    etag: `"${id}"`,
    start: { dateTime: start },
    end: { dateTime: end },
  };
}

class FakeStore implements GoogleSyncStore {
  marked = true;
  running = false;
  syncToken: string | null = null;
  generation = 0;
  pages: StorePageInput[] = [];
  finished: (string | null)[] = [];
  reauth: string[] = [];
  /** Called while a sync runs, like a notification arriving mid-sync. */
  duringRun: (() => void) | null = null;

  claimSync(): Promise<SyncClaim | null> {
    if (!this.marked || this.running) return Promise.resolve(null);
    this.marked = false;
    this.running = true;
    if (this.syncToken === null) this.generation++;
    return Promise.resolve({
      syncToken: this.syncToken,
      generation: this.generation,
      timeZone: "UTC",
    });
  }
  restartFullSync(): Promise<number> {
    this.syncToken = null;
    return Promise.resolve(++this.generation);
  }
  storePage(page: StorePageInput) {
    this.pages.push(page);
    this.duringRun?.();
    if (page.nextSyncToken) this.syncToken = page.nextSyncToken;
    return Promise.resolve({
      stale: page.generation !== this.generation,
      upserted: page.events.length,
      deleted: page.cancelledIds.length,
      busyChanged: page.events.length > 0,
    });
  }
  finishSync(_target: unknown, error: string | null) {
    this.running = false;
    this.finished.push(error);
    if (error) this.marked = true;
    return Promise.resolve({ needsSync: this.marked });
  }
  markNeedsReauth(_connectionId: string, reason: string) {
    this.reauth.push(reason);
    return Promise.resolve();
  }
}

class FakeGoogle implements EventLister {
  calls: ListEventsParams[] = [];
  constructor(private readonly respond: (params: ListEventsParams) => GoogleEventsPage) {}
  listEvents(_calendarId: string, params: ListEventsParams): Promise<GoogleEventsPage> {
    this.calls.push(params);
    try {
      return Promise.resolve(this.respond(params));
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

const deps = (store: GoogleSyncStore, lister: EventLister) => ({
  store,
  lister,
  now: () => NOW,
  pastDays: 30,
});

Deno.test("a full sync stores every page and moves the token only with the last", async () => {
  const store = new FakeStore();
  const google = new FakeGoogle((params) =>
    !params.pageToken
      ? { items: [event("a", 1), event("b", 2)], nextPageToken: "p2" }
      : params.pageToken === "p2"
      ? { items: [], nextPageToken: "p3" }
      : { items: [event("c", 3), { id: "gone", status: "cancelled" }], nextSyncToken: "sync-1" }
  );
  const summary = await syncGoogleCalendar(deps(store, google), target);
  assert.equal(google.calls.length, 3);
  assert.equal(google.calls[0].timeMin, new Date(NOW - 30 * 86_400_000).toISOString());
  assert.equal(google.calls[0].syncToken, undefined);
  // The empty middle page costs no database round trip.
  assert.deepEqual(store.pages.map((page) => page.nextSyncToken), [null, "sync-1"]);
  assert.deepEqual(store.pages[1].cancelledIds, ["gone"]);
  assert.ok(store.pages.every((page) => page.isFullSync));
  assert.equal(store.syncToken, "sync-1");
  assert.deepEqual(summary, {
    runs: 1,
    fullSync: true,
    pages: 3,
    upserted: 3,
    deleted: 1,
    busyChanged: true,
  });
});

Deno.test("notifications during a sync lead to exactly one follow-up, incremental", async () => {
  const store = new FakeStore();
  store.syncToken = "sync-1";
  let runsSeen = 0;
  store.duringRun = () => {
    // Three notifications arrive while the first run stores its page; none during the follow-up.
    if (runsSeen++ === 0) {
      for (let i = 0; i < 3; i++) store.marked = true;
    }
  };
  const google = new FakeGoogle(() => ({ items: [event("x", 1)], nextSyncToken: "sync-2" }));
  const summary = await syncGoogleCalendar(deps(store, google), target);
  assert.equal(summary.runs, 2, "one run plus exactly one follow-up");
  assert.ok(google.calls.every((params) => params.syncToken && !params.timeMin));
});

Deno.test("a 410 fullSyncRequired restarts as a full sync in a new generation", async () => {
  const store = new FakeStore();
  store.syncToken = "expired";
  const google = new FakeGoogle((params) => {
    if (params.syncToken) {
      throw new GoogleApiError({
        kind: "full_sync_required",
        status: 410,
        reason: "fullSyncRequired",
        message: "Sync token is no longer valid, a full sync is required.",
      });
    }
    return { items: [event("a", 1)], nextSyncToken: "fresh" };
  });
  const summary = await syncGoogleCalendar(deps(store, google), target);
  assert.equal(summary.fullSync, true);
  assert.equal(store.pages.length, 1);
  assert.equal(store.pages[0].generation, store.generation);
  assert.equal(store.pages[0].isFullSync, true);
  assert.equal(store.syncToken, "fresh");
});

Deno.test("invalid_grant flags the connection, releases the claim and keeps the mark", async () => {
  const store = new FakeStore();
  const google = new FakeGoogle(() => {
    throw new ReauthRequiredError({ status: 400, reason: "invalid_grant", message: "revoked" });
  });
  await assert.rejects(syncGoogleCalendar(deps(store, google), target), ReauthRequiredError);
  assert.equal(store.reauth.length, 1);
  assert.equal(store.running, false);
  assert.equal(store.marked, true, "the calendar still needs a sync once re-authorised");
  assert.match(store.finished[0] ?? "", /reauth_required/);
});

Deno.test("nothing runs when another sync holds the calendar", async () => {
  const store = new FakeStore();
  store.running = true;
  const google = new FakeGoogle(() => ({ items: [], nextSyncToken: "never" }));
  const summary = await syncGoogleCalendar(deps(store, google), target);
  assert.equal(summary.runs, 0);
  assert.equal(google.calls.length, 0);
});
