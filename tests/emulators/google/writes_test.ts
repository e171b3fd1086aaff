// Tests for the write-side surface of the Google emulator: conditional requests (If-Match /
// If-None-Match), secondary calendars (calendars.insert/delete), id reuse after delete, faults
// that apply the write and lose the answer, fault matching, write pacing, channel history and
// coverage, revocation and the truth view. Run: deno test -A tests/emulators/google/

import assert from "node:assert/strict";
import {
  CLIENT,
  EMAIL,
  event,
  type Harness,
  type Res,
  startReceiver,
  withEmulator,
} from "./testing.ts";

type Json = Record<string, unknown>;

const reasonOf = (res: Res) =>
  (res.body.error as { errors: { reason: string }[] }).errors[0].reason;

async function counts(h: Harness): Promise<Record<string, number>> {
  return (await h.ctl("counters")).body.counts as Record<string, number>;
}

async function insert(h: Harness, at: string, body: Json, cal = "primary"): Promise<Json> {
  const res = await h.api(at, "POST", `calendars/${encodeURIComponent(cal)}/events`, body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function truth(h: Harness, cal: string, query: Record<string, string> = {}) {
  const res = await h.ctl(
    `calendars/${encodeURIComponent(cal)}/events?${new URLSearchParams(query)}`,
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items as Json[];
}

const PRECONDITION_FAILED = {
  error: {
    errors: [{
      domain: "global",
      reason: "conditionNotMet",
      message: "Precondition Failed",
      locationType: "header",
      location: "If-Match",
    }],
    code: 412,
    message: "Precondition Failed",
  },
};

// ---- conditional requests -------------------------------------------------------------------

Deno.test("If-Match with a stale etag is refused with 412 conditionNotMet and changes nothing", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const created = await insert(h, at, {
      id: "session00001",
      ...event("a", "2030-01-01T10:00:00Z"),
    });
    const etag1 = created.etag as string;
    const path = "calendars/primary/events/session00001";

    // A human edits the event: our stored etag is now stale.
    const edited = await h.api(at, "PATCH", path, { summary: "edited by a human" });
    assert.equal(edited.status, 200);
    assert.equal(edited.headers.get("etag"), edited.body.etag);
    const etag2 = edited.body.etag as string;
    assert.notEqual(etag2, etag1);
    const seqBefore = (await h.ctl(`calendars/${EMAIL}`)).body.seq;

    const stalePatch = await h.api(at, "PATCH", path, { summary: "ours" }, { "if-match": etag1 });
    assert.equal(stalePatch.status, 412);
    assert.deepEqual(stalePatch.body, PRECONDITION_FAILED);
    const staleUpdate = await h.api(at, "PUT", path, event("ours", "2030-01-01T11:00:00Z"), {
      "if-match": etag1,
    });
    assert.equal(staleUpdate.status, 412);
    assert.deepEqual(staleUpdate.body, PRECONDITION_FAILED);
    const staleDelete = await h.api(at, "DELETE", path, undefined, { "if-match": etag1 });
    assert.equal(staleDelete.status, 412);
    assert.deepEqual(staleDelete.body, PRECONDITION_FAILED);

    // Nothing changed: same etag, same summary, no change recorded.
    const now = await h.api(at, "GET", path);
    assert.equal(now.body.etag, etag2);
    assert.equal(now.body.summary, "edited by a human");
    assert.equal((await h.ctl(`calendars/${EMAIL}`)).body.seq, seqBefore);

    // The current etag (or *) lets each write through; every write yields a new etag.
    const patched = await h.api(at, "PATCH", path, { summary: "ours" }, { "if-match": etag2 });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.summary, "ours");
    const updated = await h.api(at, "PUT", path, event("ours", "2030-01-01T11:00:00Z"), {
      "if-match": patched.body.etag as string,
    });
    assert.equal(updated.status, 200);
    assert.notEqual(updated.body.etag, patched.body.etag);
    const starred = await h.api(at, "PATCH", path, { colorId: "5" }, { "if-match": "*" });
    assert.equal(starred.status, 200);
    const deleted = await h.api(at, "DELETE", path, undefined, {
      "if-match": starred.body.etag as string,
    });
    assert.equal(deleted.status, 204);

    const c = await counts(h);
    assert.equal(c["events.patch"], 4);
    assert.equal(c["events.update"], 2);
    assert.equal(c["events.delete"], 2);
  });
});

Deno.test("If-None-Match on events.get with the current etag answers 304 with no body", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const created = await insert(h, at, event("a", "2030-01-01T10:00:00Z"));
    const url = `${h.emu.url}/calendar/v3/calendars/primary/events/${created.id}`;
    const get = (etag: string) =>
      fetch(url, { headers: { authorization: `Bearer ${at}`, "if-none-match": etag } });

    const same = await get(created.etag as string);
    assert.equal(same.status, 304);
    assert.equal(await same.text(), "");
    assert.equal(same.headers.get("etag"), created.etag);

    await h.api(at, "PATCH", `calendars/primary/events/${created.id}`, { summary: "b" });
    const changed = await get(created.etag as string);
    assert.equal(changed.status, 200);
    assert.equal((await changed.json()).summary, "b");
  });
});

// ---- secondary calendars --------------------------------------------------------------------

Deno.test("calendars.insert creates a secondary calendar that is listed, watched and written like the primary", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      const created = await h.api(at, "POST", "calendars", {
        summary: "Planned sessions",
        timeZone: "Europe/Berlin",
        description: "written by the app",
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.kind, "calendar#calendar");
      assert.match(created.body.id as string, /^[a-v0-9]+@group\.calendar\.google\.com$/);
      assert.equal(created.body.summary, "Planned sessions");
      assert.equal(created.body.timeZone, "Europe/Berlin");
      assert.equal(created.body.description, "written by the app");
      assert.equal(typeof created.body.etag, "string");
      const calId = created.body.id as string;
      const enc = encodeURIComponent(calId);

      // Default time zone = the owner's primary calendar's.
      const plain = await h.api(at, "POST", "calendars", { summary: "Other" });
      assert.equal(plain.body.timeZone, "UTC");
      const missing = await h.api(at, "POST", "calendars", { timeZone: "UTC" });
      assert.equal(missing.status, 400);
      assert.equal(reasonOf(missing), "required");

      const list = await h.api(at, "GET", "users/me/calendarList");
      const entries = list.body.items as Json[];
      assert.deepEqual(entries.map((e) => e.id).sort(), [EMAIL, calId, plain.body.id].sort());
      assert.equal(entries.find((e) => e.id === EMAIL)!.primary, true);
      assert.equal(entries.find((e) => e.id === calId)!.primary, undefined);
      assert.equal(entries.find((e) => e.id === calId)!.accessRole, "owner");
      assert.deepEqual((await h.api(at, "GET", `calendars/${enc}`)).body, created.body);

      // Another account cannot see it.
      const bob = await h.login("bob@example.com");
      assert.equal((await h.api(bob, "GET", `calendars/${enc}/events`)).status, 404);

      const watch = await h.api(at, "POST", `calendars/${enc}/events/watch`, {
        id: "sessions-chan",
        type: "web_hook",
        address: rx.url,
      });
      assert.equal(watch.status, 200);
      assert.match(watch.body.resourceUri as string, new RegExp(`/calendars/${enc}/events`));
      const ev = await insert(h, at, event("focus", "2030-01-01T10:00:00Z"), calId);
      assert.equal((ev.organizer as Json).email, calId);
      await h.emu.flushDeliveries();
      assert.deepEqual(rx.received.map((r) => r.headers.get("x-goog-resource-state")), [
        "sync",
        "exists",
      ]);
      const full = await h.api(at, "GET", `calendars/${enc}/events`);
      assert.deepEqual((full.body.items as Json[]).map((i) => i.id), [ev.id]);
      assert.equal(full.body.timeZone, "Europe/Berlin");
      // The primary calendar is untouched.
      assert.equal((await h.list(at, {})).body.items instanceof Array, true);
      assert.equal(((await h.list(at, {})).body.items as Json[]).length, 0);
      assert.equal((await counts(h))["calendars.insert"], 3);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("calendars.delete removes a secondary calendar and stops its channels; the primary cannot be deleted", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      const calId = (await h.api(at, "POST", "calendars", { summary: "Sessions" })).body
        .id as string;
      const enc = encodeURIComponent(calId);
      await h.api(at, "POST", `calendars/${enc}/events/watch`, {
        id: "doomed",
        type: "web_hook",
        address: rx.url,
      });
      await insert(h, at, event("x", "2030-01-01T10:00:00Z"), calId);
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 2);

      const del = await h.api(at, "DELETE", `calendars/${enc}`);
      assert.equal(del.status, 204);
      const ids = ((await h.api(at, "GET", "users/me/calendarList")).body.items as Json[])
        .map((e) => e.id);
      assert.deepEqual(ids, [EMAIL]);
      assert.equal((await h.api(at, "GET", `calendars/${enc}/events`)).status, 404);
      assert.equal(
        (await h.api(at, "POST", `calendars/${enc}/events`, event("y", "2030-01-02T10:00:00Z")))
          .status,
        404,
      );
      assert.equal((await h.api(at, "DELETE", `calendars/${enc}`)).status, 404);

      const [chan] = (await h.ctl("channels")).body.channels as Json[];
      assert.equal(chan.status, "stopped");
      assert.equal(chan.stopReason, "calendar.deleted");
      await h.ctl("channels/doomed/notify", {}).then((r) => assert.equal(r.status, 409));
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 2);

      const accounts = (await h.ctl("accounts")).body.accounts as Json[];
      assert.deepEqual(accounts[0].deletedCalendarIds, [calId]);
      assert.equal((await h.ctl(`calendars/${enc}`)).status, 404);

      for (const target of ["primary", encodeURIComponent(EMAIL)]) {
        const primary = await h.api(at, "DELETE", `calendars/${target}`);
        assert.equal(primary.status, 400);
        assert.equal(reasonOf(primary), "cannotDeletePrimaryCalendar");
      }
      assert.equal((await h.list(at, {})).status, 200);
      assert.equal((await counts(h))["calendars.delete"], 4);
    });
  } finally {
    await rx.close();
  }
});

// ---- ids, lost answers --------------------------------------------------------------------------

Deno.test("the id of a deleted event stays taken: inserting it again answers 409 duplicate", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const body = { id: "plannedsession0001", ...event("session", "2030-01-01T10:00:00Z") };
    await insert(h, at, body);
    assert.equal(
      (await h.api(at, "DELETE", "calendars/primary/events/plannedsession0001")).status,
      204,
    );
    const again = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      error: {
        errors: [{
          domain: "global",
          reason: "duplicate",
          message: "The requested identifier already exists.",
        }],
        code: 409,
        message: "The requested identifier already exists.",
      },
    });
    // Google keeps the cancelled event: get still returns it, and it can be undeleted.
    const got = await h.api(at, "GET", "calendars/primary/events/plannedsession0001");
    assert.equal(got.body.status, "cancelled");
    const undeleted = await h.api(at, "PATCH", "calendars/primary/events/plannedsession0001", {
      status: "confirmed",
    });
    assert.equal(undeleted.status, 200);
    assert.equal((await truth(h, EMAIL)).length, 1);
  });
});

Deno.test("an insert whose response was lost still took effect, so retrying its client id answers 409", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "c1",
        type: "web_hook",
        address: rx.url,
      });
      await h.ctl("faults", { operation: "events.insert", status: 503, after: true });
      const body = { id: "lostanser0001", ...event("session", "2030-01-01T10:00:00Z") };
      const first = await h.api(at, "POST", "calendars/primary/events", body);
      assert.equal(first.status, 503);
      assert.equal(reasonOf(first), "backendError");

      // It reached the backend: the event exists and the channel was notified.
      const items = await truth(h, EMAIL);
      assert.deepEqual(items.map((i) => i.id), ["lostanser0001"]);
      await h.emu.flushDeliveries();
      assert.equal(rx.received.at(-1)!.headers.get("x-goog-resource-state"), "exists");
      const fired = (await h.ctl("faults")).body.fired as Json[];
      assert.equal(fired.length, 1);
      assert.equal(fired[0].after, true);
      assert.equal(fired[0].handledStatus, 200);

      const retry = await h.api(at, "POST", "calendars/primary/events", body);
      assert.equal(retry.status, 409);
      assert.equal(reasonOf(retry), "duplicate");
      assert.equal((await truth(h, EMAIL)).length, 1);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a status-0 after fault applies the write and closes the connection without an answer", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const created = await insert(h, at, event("a", "2030-01-01T10:00:00Z"));
    await h.ctl("faults", { method: "PATCH", operation: "events.patch", status: 0, after: true });
    await assert.rejects(
      h.api(at, "PATCH", `calendars/primary/events/${created.id}`, { summary: "b" }),
      TypeError,
    );
    const [item] = await truth(h, EMAIL);
    assert.equal(item.summary, "b");
    assert.notEqual(item.etag, created.etag);

    // Without `after`, status 0 aborts before anything happens.
    await h.ctl("faults", { operation: "events.patch", status: 0 });
    await assert.rejects(
      h.api(at, "PATCH", `calendars/primary/events/${created.id}`, { summary: "c" }),
      TypeError,
    );
    assert.equal((await truth(h, EMAIL))[0].summary, "b");
    // The server keeps serving afterwards.
    assert.equal((await h.list(at, {})).status, 200);
  });
});

// ---- fault matching, pacing ---------------------------------------------------------------------

Deno.test("fault rules match method, operation and If-Match presence together", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const created = await insert(h, at, event("a", "2030-01-01T10:00:00Z"));
    const path = `calendars/primary/events/${created.id}`;
    await h.ctl("faults", {
      rules: [
        { method: "DELETE", operation: "events.patch", status: 500 }, // can never match
        { method: "PATCH", operation: "events.patch", ifMatch: true, status: 503 },
      ],
    });
    assert.equal((await h.api(at, "PATCH", path, { summary: "b" })).status, 200);
    assert.equal((await h.api(at, "GET", path)).status, 200);
    const conditional = await h.api(at, "PATCH", path, { summary: "c" }, { "if-match": "*" });
    assert.equal(conditional.status, 503);
    const left = (await h.ctl("faults")).body.rules as Json[];
    assert.equal(left.length, 1);
    assert.equal(left[0].operation, "events.patch");
    assert.equal(left[0].method, "DELETE");
    assert.equal((await h.api(at, "DELETE", path)).status, 204);
    const bad = await h.ctl("faults", { status: 200 });
    assert.equal(bad.status, 400);
  });
});

Deno.test("retryAfterSeconds adds a Retry-After header to 429 and 403 rate-limit faults", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    await h.ctl("faults", {
      rules: [
        { operation: "events.insert", status: 429, retryAfterSeconds: 7 },
        {
          operation: "events.insert",
          status: 403,
          reason: "rateLimitExceeded",
          retryAfterSeconds: 3,
        },
      ],
    });
    const body = event("a", "2030-01-01T10:00:00Z");
    const r429 = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers.get("retry-after"), "7");
    assert.equal(reasonOf(r429), "rateLimitExceeded");
    const r403 = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(r403.status, 403);
    assert.equal(r403.headers.get("retry-after"), "3");
    assert.equal(
      (r403.body.error as { errors: { domain: string }[] }).errors[0].domain,
      "usageLimits",
    );
  });
});

Deno.test("writesPerCalendarPerSecond refuses rapid writes to one calendar with 403 rateLimitExceeded", async () => {
  await withEmulator(async (h) => {
    await h.ctl("clock", { set: "2030-01-01T00:00:00Z", freeze: true });
    const at = await h.login();
    await h.ctl("config", { writesPerCalendarPerSecond: 2 });
    const other = (await h.api(at, "POST", "calendars", { summary: "Other" })).body.id as string;
    const a = await insert(h, at, event("a", "2030-01-02T10:00:00Z"));
    await h.api(at, "PATCH", `calendars/primary/events/${a.id}`, { summary: "a2" });
    const third = await h.api(
      at,
      "POST",
      "calendars/primary/events",
      event("b", "2030-01-02T11:00:00Z"),
    );
    assert.equal(third.status, 403);
    assert.deepEqual((third.body.error as { errors: unknown[] }).errors[0], {
      domain: "usageLimits",
      reason: "rateLimitExceeded",
      message: "Rate Limit Exceeded",
    });
    // Other calendars and reads are not affected; the refused write changed nothing.
    await insert(h, at, event("c", "2030-01-02T10:00:00Z"), other);
    assert.equal((await h.list(at, {})).status, 200);
    assert.equal((await truth(h, EMAIL)).length, 1);
    assert.equal((await h.ctl(`calendars/${EMAIL}`)).body.writesRejected, 1);

    await h.ctl("clock", { advanceMs: 1000 });
    assert.equal(
      (await h.api(at, "POST", "calendars/primary/events", event("b", "2030-01-02T11:00:00Z")))
        .status,
      200,
    );
  }, { accessTokenTtlSeconds: 86400 });
});

// ---- channel history ------------------------------------------------------------------------

Deno.test("channel records carry created, stopped and expiration in emulator-clock ms; ?status= filters", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const t0 = Date.parse("2030-01-01T00:00:00Z");
      await h.ctl("clock", { set: t0, freeze: true });
      const at = await h.login();
      const watch = (id: string, ttl: number) =>
        h.api(at, "POST", "calendars/primary/events/watch", {
          id,
          type: "web_hook",
          address: rx.url,
          params: { ttl: String(ttl) },
        });
      const a = await watch("a", 3600);
      await h.ctl("clock", { advanceSeconds: 60 });
      await watch("b", 60);
      await watch("c", 7200);
      await h.ctl("clock", { advanceSeconds: 60 });
      await h.api(at, "POST", "channels/stop", { id: "a", resourceId: a.body.resourceId });

      const all = (await h.ctl("channels")).body.channels as Json[];
      const byId = new Map(all.map((c) => [c.id, c]));
      assert.equal(byId.get("a")!.created, t0);
      assert.equal(byId.get("a")!.stopped, t0 + 120_000);
      assert.equal(byId.get("a")!.expiration, t0 + 3600_000);
      assert.equal(byId.get("a")!.stopReason, "channels.stop");
      assert.equal(byId.get("b")!.stopped, null);
      assert.equal(byId.get("b")!.expiration, t0 + 120_000);
      assert.equal(byId.get("c")!.createdIso, "2030-01-01T00:01:00.000Z");

      const ids = async (q: string) =>
        ((await h.ctl(`channels?${q}`)).body.channels as Json[]).map((c) => c.id);
      assert.deepEqual(await ids("status=active"), ["c"]);
      assert.deepEqual(await ids("status=stopped"), ["a"]);
      assert.deepEqual(await ids("status=expired"), ["b"]);
      assert.deepEqual(await ids(`calendarId=${encodeURIComponent(EMAIL)}`), ["a", "b", "c"]);
      assert.equal((await h.ctl("channels?status=bogus")).status, 400);
    }, { accessTokenTtlSeconds: 86400 });
  } finally {
    await rx.close();
  }
});

Deno.test("coverage proves a calendar always had a live channel over 30 simulated days, and reports gaps", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const t0 = Date.parse("2030-01-01T00:00:00Z");
      await h.ctl("clock", { set: t0, freeze: true });
      const at = await h.login();
      const watch = (id: string, cal = "primary") =>
        h.api(at, "POST", `calendars/${encodeURIComponent(cal)}/events/watch`, {
          id,
          type: "web_hook",
          address: rx.url,
        });

      // Channels live one day (the cap); renew an hour before expiry: new first, then stop old.
      let prev = await watch("renew-0");
      assert.equal(Number(prev.body.expiration), t0 + 86400_000);
      for (let i = 1; i <= 32; i++) {
        await h.ctl("clock", { advanceSeconds: 23 * 3600 });
        const next = await watch(`renew-${i}`);
        assert.equal(next.status, 200);
        const stop = await h.api(at, "POST", "channels/stop", {
          id: prev.body.id,
          resourceId: prev.body.resourceId,
        });
        assert.equal(stop.status, 204);
        prev = next;
      }
      const to = t0 + 30 * 86400_000;
      const q = new URLSearchParams({ calendarId: EMAIL, from: String(t0), to: String(to) });
      const report = await h.ctl(`channels/coverage?${q}`);
      assert.equal(report.status, 200);
      const [cov] = report.body.calendars as Json[];
      assert.equal(cov.calendarId, EMAIL);
      assert.equal(cov.covered, true);
      assert.deepEqual(cov.gaps, []);
      assert.equal(cov.coveredMs, 30 * 86400_000);
      const intervals = cov.intervals as Json[];
      assert.equal(intervals.length, 1);
      assert.equal(intervals[0].from, t0);
      assert.equal(intervals[0].to, to);
      assert.equal((intervals[0].channels as string[]).length, 32); // renew-0 … renew-31
      assert.deepEqual(
        ((await h.ctl("channels?status=active")).body.channels as Json[]).map((c) => c.id),
        ["renew-32"],
      );

      // A secondary calendar whose channel lapses for an hour before it is replaced.
      const cal = (await h.api(at, "POST", "calendars", { summary: "Sessions" })).body
        .id as string;
      const t1 = (await h.ctl("clock")).body.nowMs as number;
      await h.api(at, "POST", `calendars/${encodeURIComponent(cal)}/events/watch`, {
        id: "lapsing",
        type: "web_hook",
        address: rx.url,
        params: { ttl: "3600" },
      });
      await h.ctl("clock", { advanceSeconds: 7200 });
      await watch("late", cal);
      await h.ctl("clock", { advanceSeconds: 600 });
      const lapsed = await h.ctl(`channels/coverage?calendarId=${encodeURIComponent(cal)}`);
      const [gapCov] = lapsed.body.calendars as Json[];
      assert.equal(gapCov.from, t1); // default window: first channel … now
      assert.equal(gapCov.to, t1 + 7800_000);
      assert.equal(gapCov.covered, false);
      assert.deepEqual(gapCov.gaps, [{
        from: t1 + 3600_000,
        to: t1 + 7200_000,
        fromIso: new Date(t1 + 3600_000).toISOString(),
        toIso: new Date(t1 + 7200_000).toISOString(),
        ms: 3600_000,
      }]);
      assert.equal(gapCov.gapMs, 3600_000);

      // Without calendarId: every calendar that ever had a channel.
      const everything = (await h.ctl("channels/coverage")).body.calendars as Json[];
      assert.deepEqual(everything.map((c) => c.calendarId).sort(), [EMAIL, cal].sort());
      assert.equal((await h.ctl("channels/coverage?from=x")).status, 400);
    }, { accessTokenTtlSeconds: 100 * 86400, maxChannelTtlSeconds: 86400 });
  } finally {
    await rx.close();
  }
});

// ---- revocation, truth --------------------------------------------------------------------------

Deno.test("revoking a refresh token via POST /revoke kills its access tokens and later refreshes", async () => {
  await withEmulator(async (h) => {
    await h.ctl("accounts", { email: EMAIL, refresh_token: "rt-1" });
    const refresh = () =>
      h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: "rt-1" });
    const at1 = (await refresh()).body.access_token as string;
    const at2 = (await refresh()).body.access_token as string;
    assert.equal((await h.list(at1, {})).status, 200);
    const before = await h.ctl("refresh_tokens/rt-1");
    assert.equal(before.body.revoked, false);
    assert.equal(before.body.liveAccessTokens, 2);

    const revoke = await fetch(`${h.emu.url}/revoke?token=rt-1`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    assert.equal(revoke.status, 200);
    await revoke.body?.cancel();

    for (const at of [at1, at2]) assert.equal((await h.list(at, {})).status, 401);
    const again = await refresh();
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_grant");

    const after = await h.ctl("refresh_tokens/rt-1");
    assert.equal(after.body.revoked, true);
    assert.equal(after.body.revokedVia, "revoke_endpoint");
    assert.equal(typeof after.body.revokedAt, "number");
    assert.equal(after.body.liveAccessTokens, 0);
    const accounts = (await h.ctl("accounts")).body.accounts as Json[];
    assert.deepEqual(
      (accounts[0].refreshTokens as Json[]).map((t) => [t.refresh_token, t.revoked]),
      [
        ["rt-1", true],
      ],
    );
    assert.equal((await h.ctl("refresh_tokens/unknown")).status, 404);
    // Generated tokens contain "/": the path segment is URL-encoded.
    const generated = (await h.ctl("accounts", { email: "carol@example.com" })).body
      .refresh_token as string;
    assert.match(generated, /\//);
    const byPath = await h.ctl(`refresh_tokens/${encodeURIComponent(generated)}`);
    assert.equal(byPath.body.revoked, false);
    assert.equal(byPath.body.email, "carol@example.com");

    // Revoking through one of its access tokens revokes the whole grant too.
    await h.ctl("accounts", { email: EMAIL, refresh_token: "rt-2" });
    const at3 = (await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: "rt-2" }))
      .body.access_token as string;
    const viaAccess = await fetch(`${h.emu.url}/revoke?token=${at3}`, { method: "POST" });
    await viaAccess.body?.cancel();
    assert.equal(viaAccess.status, 200);
    assert.equal((await h.ctl("refresh_tokens/rt-2")).body.revoked, true);
    assert.equal((await counts(h))["oauth.revoke"], 2);
  });
});

Deno.test("the truth view filters by privateExtendedProperty and returns etag, transparency, attendees and extendedProperties", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const tag = { private: { app: "planner", session: "s1" } };
    const s1 = await insert(h, at, {
      ...event("deep work", "2030-01-01T09:00:00Z"),
      transparency: "transparent",
      extendedProperties: tag,
      attendees: [{ email: EMAIL }],
    });
    const s2 = await insert(h, at, {
      ...event("review", "2030-01-01T11:00:00Z"),
      extendedProperties: { private: { app: "planner", session: "s2" } },
    });
    const s3 = await insert(h, at, {
      ...event("gone", "2030-01-01T13:00:00Z"),
      extendedProperties: { private: { app: "planner", session: "s3" } },
    });
    await insert(h, at, event("human", "2030-01-01T10:00:00Z"));
    await insert(h, at, {
      ...event("other app", "2030-01-01T12:00:00Z"),
      extendedProperties: { private: { app: "someone-else" } },
    });
    await h.api(at, "DELETE", `calendars/primary/events/${s3.id}`);

    assert.equal((await truth(h, EMAIL)).length, 4);
    const ours = await truth(h, EMAIL, { privateExtendedProperty: "app=planner" });
    assert.deepEqual(ours.map((i) => i.id), [s1.id, s2.id]);
    const [first, second] = ours;
    assert.equal(first.etag, s1.etag);
    assert.equal(first.transparency, "transparent");
    assert.deepEqual(first.extendedProperties, tag);
    assert.deepEqual(first.attendees, [{
      email: EMAIL,
      responseStatus: "needsAction",
      self: true,
    }]);
    assert.equal(second.etag, s2.etag);
    assert.equal(second.transparency, undefined); // Google omits the default ("opaque")

    const one = await truth(h, EMAIL, { privateExtendedProperty: "session=s2" });
    assert.deepEqual(one.map((i) => i.id), [s2.id]);
    // Deleted tagged events: with showDeleted they come back in full, status cancelled.
    const withDeleted = await truth(h, EMAIL, {
      privateExtendedProperty: "app=planner",
      showDeleted: "true",
    });
    const gone = withDeleted.find((i) => i.id === s3.id)!;
    assert.equal(gone.status, "cancelled");
    assert.deepEqual(gone.extendedProperties, { private: { app: "planner", session: "s3" } });
    assert.notEqual(gone.etag, s3.etag);
    // The API itself filters the same way.
    const api = await h.list(at, { privateExtendedProperty: "app=planner" });
    assert.deepEqual((api.body.items as Json[]).map((i) => i.id), [s1.id, s2.id]);
  });
});
