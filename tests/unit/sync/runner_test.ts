// The provider-neutral sync runner without a server: the in-memory store (the SQL functions'
// contract) and Google's change strategy over a fake events.list.
import assert from "node:assert/strict";
import { syncCalendar } from "../../../supabase/functions/_shared/sync/runner.ts";
import { createMemorySyncStore } from "../../../supabase/functions/_shared/sync/store_memory.ts";
import type { SyncStore } from "../../../supabase/functions/_shared/sync/store.ts";
import {
  type EventLister,
  GoogleApiError,
  googleChangeStrategy,
  type GoogleEventsPage,
  type ListEventsParams,
  ReauthRequiredError,
} from "../../../supabase/functions/_shared/providers/google/mod.ts";

const target = { connectionId: "connection-1", calendarId: "a@example.test" };
const NOW = Date.parse("2026-11-21T12:00:00Z");
const clock = { now: () => NOW, monotonic: () => 0 };

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

const deps = (store: SyncStore, lister: EventLister) => ({
  store,
  strategy: () =>
    googleChangeStrategy({ lister, calendarId: target.calendarId, clock, pastDays: 30 }),
  clock,
  leaseSeconds: 15,
});

Deno.test("a full sync stores every page and moves the cursor only with the last", async () => {
  const store = createMemorySyncStore({}, clock);
  const google = new FakeGoogle((params) =>
    !params.pageToken
      ? { items: [event("a", 1), event("b", 2)], nextPageToken: "p2" }
      : params.pageToken === "p2"
      ? { items: [], nextPageToken: "p3" }
      : { items: [event("c", 3), { id: "gone", status: "cancelled" }], nextSyncToken: "sync-1" }
  );
  const state = store.state(target);
  const stored = { ...event("gone", 0), start: undefined, end: undefined };
  state.mirror.set("gone", {
    external_id: stored.id,
    summary: null,
    starts_at: new Date(NOW).toISOString(),
    ends_at: new Date(NOW + 3600_000).toISOString(),
    all_day: false,
    status: "confirmed",
    is_busy: true,
    is_tentative: false,
    app_tag: null,
    etag: stored.etag,
    external_updated_at: null,
    details: {},
    seenGeneration: 0,
  });
  const summary = await syncCalendar(deps(store, google), target);
  assert.equal(google.calls.length, 3);
  assert.equal(google.calls[0].timeMin, new Date(NOW - 30 * 86_400_000).toISOString());
  assert.equal(google.calls[0].syncToken, undefined);
  // The empty middle page costs no database round trip.
  assert.deepEqual(state.pages.map((input) => input.page.nextCursor ?? null), [null, "sync-1"]);
  assert.deepEqual(state.pages[1].page.removedIds, ["gone"]);
  assert.ok(state.pages.every((input) => input.isFullSync));
  assert.equal(state.cursor, "sync-1");
  assert.equal(state.claim, null, "the last page released the claim");
  assert.deepEqual({ ...summary, apiRequests: 0 }, {
    runs: 1,
    fullSync: true,
    pages: 3,
    inserted: 3,
    updated: 0,
    upserted: 3,
    deleted: 1,
    busyChanged: true,
    apiRequests: 0,
    lost: false,
  });
});

Deno.test("notifications during a sync lead to exactly one follow-up, incremental", async () => {
  const store = createMemorySyncStore({}, clock);
  const state = store.state(target);
  state.cursor = "sync-1";
  state.fullSyncRequired = false;
  let pagesSeen = 0;
  store.onPageStored = () => {
    // Three notifications arrive while the first run stores its page; none during the follow-up.
    if (pagesSeen++ === 0) { for (let i = 0; i < 3; i++) store.mark(target); }
  };
  const google = new FakeGoogle(() => ({ items: [event("x", 1)], nextSyncToken: "sync-2" }));
  const summary = await syncCalendar(deps(store, google), target);
  assert.equal(summary.runs, 2, "one run plus exactly one follow-up");
  assert.ok(google.calls.every((params) => params.syncToken && !params.timeMin));
  assert.equal(state.needsSync, false);
});

Deno.test("an expired cursor (410) restarts as a full sync in a new generation", async () => {
  const store = createMemorySyncStore({}, clock);
  const state = store.state(target);
  state.cursor = "expired";
  state.fullSyncRequired = false;
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
  const summary = await syncCalendar(deps(store, google), target);
  assert.equal(summary.fullSync, true);
  assert.equal(state.pages.length, 1);
  assert.equal(state.pages[0].generation, state.generation);
  assert.equal(state.pages[0].isFullSync, true);
  assert.equal(state.cursor, "fresh");
});

Deno.test("invalid_grant flags the connection, releases the claim and keeps the mark", async () => {
  const store = createMemorySyncStore({}, clock);
  const google = new FakeGoogle(() => {
    throw new ReauthRequiredError({ status: 400, reason: "invalid_grant", message: "revoked" });
  });
  await assert.rejects(syncCalendar(deps(store, google), target), ReauthRequiredError);
  const state = store.state(target);
  assert.equal(store.reauth.length, 1);
  assert.equal(state.claim, null);
  assert.equal(state.needsSync, true, "the calendar still needs a sync once re-authorised");
  assert.match(state.finishes[0] ?? "", /reauth_required/);
});

Deno.test("nothing runs when another sync holds the calendar", async () => {
  const store = createMemorySyncStore({}, clock);
  await store.claim(target, 15);
  store.mark(target);
  const google = new FakeGoogle(() => ({ items: [], nextSyncToken: "never" }));
  const summary = await syncCalendar(deps(store, google), target);
  assert.equal(summary.runs, 0);
  assert.equal(summary.refused, "running");
  assert.equal(google.calls.length, 0);
});

Deno.test("a run whose claim was taken over stores nothing more and reports it", async () => {
  const store = createMemorySyncStore({}, clock);
  const google = new FakeGoogle((params) =>
    !params.pageToken
      ? { items: [event("a", 1)], nextPageToken: "p2" }
      : { items: [event("b", 2)], nextSyncToken: "sync-1" }
  );
  // After the first page, another run takes the calendar over (our lease ran out).
  store.onPageStored = () => {
    store.state(target).claim = "someone-else";
  };
  const summary = await syncCalendar(deps(store, google), target);
  assert.equal(summary.lost, true);
  assert.equal(store.state(target).pages.length, 1, "the second page was not stored");
  assert.equal(store.state(target).cursor, null, "the cursor did not move");
});

Deno.test("a calendar that keeps changing is left marked once the follow-up budget is spent", async () => {
  const store = createMemorySyncStore({}, clock);
  // Every run finds the calendar marked again, and each takes 10 s of the call's budget.
  let elapsed = 0;
  const timed = { now: () => clock.now(), monotonic: () => elapsed };
  store.onPageStored = () => {
    elapsed += 10_000;
    store.mark(target);
  };
  const google = new FakeGoogle(() => ({ items: [event("x", 1)], nextSyncToken: "s" }));
  const summary = await syncCalendar(
    { ...deps(store, google), clock: timed, followUpBudgetMs: 30_000 },
    target,
  );
  assert.equal(summary.runs, 3, "follow-ups ran while the budget lasted");
  assert.equal(store.state(target).claim, null);
  assert.equal(store.state(target).needsSync, true, "the next trigger picks it up");
});

Deno.test("a storm's follow-ups are paced; a single change never waits", async () => {
  const store = createMemorySyncStore({}, clock);
  // Each run takes 40 ms and, for the first two, notifications marked the calendar meanwhile.
  let elapsed = 0;
  let marksLeft = 2;
  const timed = { now: () => clock.now(), monotonic: () => elapsed };
  store.onPageStored = () => {
    elapsed += 40;
    if (marksLeft-- > 0) store.mark(target);
  };
  const pauses: number[] = [];
  const sleep = (ms: number) => {
    pauses.push(ms);
    elapsed += ms;
    return Promise.resolve();
  };
  const google = new FakeGoogle(() => ({ items: [event("x", 1)], nextSyncToken: "s" }));
  const storm = await syncCalendar(
    { ...deps(store, google), clock: timed, sleep, followUpSpacingMs: 250 },
    target,
  );
  assert.equal(storm.runs, 3, "one follow-up per run that was marked meanwhile");
  assert.deepEqual(pauses, [210, 210], "each follow-up starts 250 ms after the run before it");
  assert.equal(google.calls.length, 3);

  store.mark(target);
  pauses.length = 0;
  const single = await syncCalendar(
    { ...deps(store, google), clock: timed, sleep, followUpSpacingMs: 250 },
    target,
  );
  assert.equal(single.runs, 1);
  assert.deepEqual(pauses, [], "a change with no follow-up is synced at once");
});
