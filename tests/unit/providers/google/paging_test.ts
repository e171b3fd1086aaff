import assert from "node:assert/strict";
import {
  type EventSyncPage,
  GoogleApiError,
  GoogleCalendarClient,
  pageEventSync,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";
import { type FakeGoogle, fakeTimers, googleError, startFakeGoogle } from "./_fake_google.ts";

const FORBIDDEN_WITH_SYNC_TOKEN = [
  "iCalUID",
  "orderBy",
  "privateExtendedProperty",
  "q",
  "sharedExtendedProperty",
  "timeMin",
  "timeMax",
  "updatedMin",
];

function makeClient(g: FakeGoogle) {
  const t = fakeTimers(0.5);
  return {
    t,
    c: new GoogleCalendarClient({
      config: g.config,
      refreshToken: "RT",
      clock: { now: () => 0, monotonic: () => 0 },
      sleep: t.sleep,
      random: t.random,
    }),
  };
}

async function collect(it: AsyncIterable<EventSyncPage>) {
  const pages: EventSyncPage[] = [];
  for await (const p of it) pages.push(p);
  return pages;
}

/** Three pages: p1 (2 items), p2 (empty, nextPageToken), p3 (1 item, nextSyncToken). */
function pagedHandler(g: FakeGoogle, syncToken = "SYNC-NEXT") {
  g.setApi((req) => {
    const pt = req.query.get("pageToken");
    const base = { kind: "calendar#events", timeZone: "America/New_York" };
    if (pt === null) {
      return Response.json({ ...base, items: [{ id: "a" }, { id: "b" }], nextPageToken: "P2" });
    }
    if (pt === "P2") return Response.json({ ...base, items: [], nextPageToken: "P3" });
    if (pt === "P3") {
      return Response.json({ ...base, items: [{ id: "c" }], nextSyncToken: syncToken });
    }
    return googleError(400, "invalid");
  });
}

function paramsWithoutPageToken(q: URLSearchParams) {
  const copy = new URLSearchParams(q);
  copy.delete("pageToken");
  copy.sort();
  return copy.toString();
}

Deno.test("pager: full sync over several pages incl. an empty one; same query every page", async () => {
  const g = startFakeGoogle();
  try {
    pagedHandler(g);
    const { c } = makeClient(g);
    const pages = await collect(
      pageEventSync(c, { calendarId: "primary", timeMin: "2026-01-01T00:00:00Z" }),
    );
    assert.deepEqual(pages.map((p) => p.items.map((i) => i.id)), [["a", "b"], [], ["c"]]);
    assert.deepEqual(pages.map((p) => p.pageToken), [null, "P2", "P3"]);
    assert.deepEqual(pages.map((p) => p.nextSyncToken), [undefined, undefined, "SYNC-NEXT"]);
    assert.ok(pages.every((p) => p.isFullSync && p.timeZone === "America/New_York"));

    const reqs = g.apiRequests();
    assert.equal(reqs.length, 3);
    const first = reqs[0].query;
    assert.equal(first.get("maxResults"), "2500");
    assert.equal(first.get("singleEvents"), "true");
    assert.equal(first.get("showDeleted"), "true");
    assert.equal(first.get("timeMin"), "2026-01-01T00:00:00Z");
    assert.equal(first.has("syncToken"), false);
    assert.equal(first.has("pageToken"), false);
    assert.deepEqual(reqs.map((r) => r.query.get("pageToken")), [null, "P2", "P3"]);
    const canonical = reqs.map((r) => paramsWithoutPageToken(r.query));
    assert.ok(canonical.every((q) => q === canonical[0]), canonical.join("\n"));
  } finally {
    await g.close();
  }
});

Deno.test("pager: incremental sends syncToken, same base params, none of the forbidden ones", async () => {
  const g = startFakeGoogle();
  try {
    pagedHandler(g, "SYNC-3");
    const { c } = makeClient(g);
    const pages = await collect(
      pageEventSync(c, {
        calendarId: "primary",
        syncToken: "SYNC-2",
        timeMin: "2026-01-01T00:00:00Z", // must be ignored on incremental
      }),
    );
    assert.equal(pages.at(-1)!.nextSyncToken, "SYNC-3");
    assert.ok(pages.every((p) => !p.isFullSync));
    for (const r of g.apiRequests()) {
      assert.equal(r.query.get("syncToken"), "SYNC-2");
      assert.equal(r.query.get("maxResults"), "2500");
      assert.equal(r.query.get("singleEvents"), "true");
      assert.equal(r.query.get("showDeleted"), "true");
      for (const name of FORBIDDEN_WITH_SYNC_TOKEN) assert.equal(r.query.has(name), false, name);
    }
  } finally {
    await g.close();
  }
});

Deno.test("pager: 410 fullSyncRequired surfaces as a classified error (not swallowed)", async () => {
  const g = startFakeGoogle();
  try {
    g.setApi(() =>
      googleError(
        410,
        "fullSyncRequired",
        "Sync token is no longer valid, a full sync is required.",
      )
    );
    const { c, t } = makeClient(g);
    const err = await collect(pageEventSync(c, { calendarId: "primary", syncToken: "OLD" }))
      .catch((e) => e);
    assert.ok(err instanceof GoogleApiError);
    assert.equal(err.kind, "full_sync_required");
    assert.equal(err.reason, "fullSyncRequired");
    assert.equal(g.apiRequests().length, 1, "410 is not retried");
    assert.deepEqual(t.sleeps, []);
  } finally {
    await g.close();
  }
});

Deno.test("pager: a transient failure mid-paging repeats only that page", async () => {
  const g = startFakeGoogle();
  try {
    let failed = false;
    g.setApi((req) => {
      const pt = req.query.get("pageToken");
      if (pt === null) {
        return Response.json({ items: [{ id: "a" }], nextPageToken: "P2", timeZone: "UTC" });
      }
      if (!failed) {
        failed = true;
        return new Response("oops", { status: 503 });
      }
      return Response.json({ items: [{ id: "b" }], nextSyncToken: "S" });
    });
    const { c, t } = makeClient(g);
    const pages = await collect(pageEventSync(c, { calendarId: "primary" }));
    assert.equal(pages.length, 2);
    assert.equal(pages[1].timeZone, "UTC", "time zone carried forward");
    assert.deepEqual(g.apiRequests().map((r) => r.query.get("pageToken")), [null, "P2", "P2"]);
    assert.equal(t.sleeps.length, 1);
  } finally {
    await g.close();
  }
});

Deno.test("pager: a last page without nextSyncToken is a protocol error", async () => {
  const g = startFakeGoogle();
  try {
    g.setApi(() => Response.json({ items: [] }));
    const { c } = makeClient(g);
    const err = await collect(pageEventSync(c, { calendarId: "primary" })).catch((e) => e);
    assert.ok(err instanceof GoogleApiError);
    assert.equal(err.reason, "syncProtocol");
  } finally {
    await g.close();
  }
});
