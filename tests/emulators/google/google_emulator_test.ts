// Tests for the Google Calendar + OAuth emulator. Run: deno test -A tests/emulators/google/

import assert from "node:assert/strict";
import { call, CLIENT, EMAIL, event, startReceiver, withEmulator } from "./testing.ts";

// ---- OAuth ------------------------------------------------------------------------------------

Deno.test("oauth: refresh grant success, invalid_grant, invalid_client, other errors", async () => {
  await withEmulator(async (h) => {
    const acct = await h.ctl("accounts", { email: EMAIL, refresh_token: "rt-alice" });
    assert.equal(acct.status, 201);
    assert.equal(acct.body.refresh_token, "rt-alice");

    const ok = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: "rt-alice" });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, "Bearer");
    assert.equal(ok.body.expires_in, 3599);
    assert.equal(typeof ok.body.access_token, "string");
    assert.equal(typeof ok.body.scope, "string");
    assert.equal("refresh_token" in ok.body, false);

    // HTTP Basic client authentication works too.
    const basic = await h.token({ grant_type: "refresh_token", refresh_token: "rt-alice" }, {
      authorization: `Basic ${btoa(`${CLIENT.client_id}:${CLIENT.client_secret}`)}`,
    });
    assert.equal(basic.status, 200);

    const unknown = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: "x" });
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.body, {
      error: "invalid_grant",
      error_description: "Token has been expired or revoked.",
    });

    const badClient = await h.token({
      client_id: CLIENT.client_id,
      client_secret: "wrong",
      grant_type: "refresh_token",
      refresh_token: "rt-alice",
    });
    assert.equal(badClient.status, 401);
    assert.deepEqual(badClient.body, {
      error: "invalid_client",
      error_description: "The OAuth client was not found.",
    });

    const missing = await h.token({ ...CLIENT, grant_type: "refresh_token" });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error, "invalid_request");
    const grant = await h.token({ ...CLIENT, grant_type: "password" });
    assert.equal(grant.body.error, "unsupported_grant_type");

    // Revocation: the refresh token and its access tokens stop working.
    const at = ok.body.access_token as string;
    assert.equal((await h.list(at, {})).status, 200);
    assert.equal((await h.ctl("refresh_tokens/revoke", { refresh_token: "rt-alice" })).status, 200);
    const revoked = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: "rt-alice",
    });
    assert.equal(revoked.body.error, "invalid_grant");
    assert.equal((await h.list(at, {})).status, 401);
  });
});

Deno.test("oauth: authorization codes are single-use and bound to redirect_uri", async () => {
  await withEmulator(async (h) => {
    await h.ctl("accounts", { email: EMAIL });
    const reg = await h.ctl("auth_codes", {
      code: "code-1",
      email: EMAIL,
      redirect_uri: "http://localhost/cb",
    });
    assert.equal(reg.status, 201);
    const params = { ...CLIENT, grant_type: "authorization_code", code: "code-1" };
    const wrong = await h.token({ ...params, redirect_uri: "http://localhost/other" });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, "invalid_grant");

    await h.ctl("auth_codes", {
      code: "code-2",
      email: EMAIL,
      redirect_uri: "http://localhost/cb",
    });
    const first = await h.token({ ...params, code: "code-2", redirect_uri: "http://localhost/cb" });
    assert.equal(first.status, 200);
    assert.equal(typeof first.body.refresh_token, "string");
    assert.equal(first.body.token_type, "Bearer");
    const second = await h.token({
      ...params,
      code: "code-2",
      redirect_uri: "http://localhost/cb",
    });
    assert.equal(second.status, 400);
    assert.equal(second.body.error, "invalid_grant");

    // The returned refresh token works.
    const refreshed = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: first.body.refresh_token as string,
    });
    assert.equal(refreshed.status, 200);
  });
});

Deno.test("calendar: 401 authError for missing and expired access tokens", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    assert.equal((await h.list(at, {})).status, 200);
    const expected = {
      error: {
        errors: [{
          domain: "global",
          reason: "authError",
          message: "Invalid Credentials",
          locationType: "header",
          location: "Authorization",
        }],
        code: 401,
        message: "Invalid Credentials",
      },
    };
    const none = await call(`${h.emu.url}/calendar/v3/calendars/primary/events`);
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, expected);

    await h.ctl("clock", { advanceSeconds: 3600 });
    const expired = await h.list(at, {});
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, expected);

    const at2 = await h.login();
    assert.equal((await h.list(at2, {})).status, 200);
    await h.ctl("access_tokens/expire", {});
    assert.equal((await h.list(at2, {})).status, 401);
  });
});

// ---- events.list / sync -------------------------------------------------------------------------

Deno.test("events.list: 10,000 seeded events in exactly 4 pages, nextSyncToken on the last", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const t0 = performance.now();
    const seeded = await h.ctl(`calendars/${EMAIL}/seed`, {
      count: 10_000,
      start: "2030-01-01T00:00:00Z",
      durationMinutes: 30,
      spacingMinutes: 60,
      returnIds: false,
    });
    const seedMs = performance.now() - t0;
    assert.equal(seeded.status, 201);
    assert.equal(seeded.body.inserted, 10_000);
    assert.ok(seedMs < 1000, `seeding took ${seedMs} ms`);

    const t1 = performance.now();
    const all = await h.listAll(at, { maxResults: "2500", singleEvents: "true" });
    const listMs = performance.now() - t1;
    assert.equal(all.pages, 4);
    assert.equal(all.items.length, 10_000);
    assert.equal(new Set(all.items.map((i) => i.id)).size, 10_000);
    assert.equal(typeof all.syncToken, "string");
    assert.ok(listMs < 3000, `listing took ${listMs} ms`);

    // maxResults above 2500 is clamped.
    const big = await h.list(at, { maxResults: "5000" });
    assert.equal((big.body.items as unknown[]).length, 2500);
    assert.equal(typeof big.body.nextPageToken, "string");
    assert.equal(big.body.kind, "calendar#events");
    assert.equal(big.body.accessRole, "owner");
    assert.deepEqual(big.body.defaultReminders, []);
    assert.equal(big.body.timeZone, "UTC");

    // Control API view of the truth matches.
    const truth = await h.ctl(`calendars/${EMAIL}/events`);
    assert.equal(truth.body.count, 10_000);
  });
});

Deno.test("events.list: incremental sync returns exactly the changes, including deletes", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const seeded = await h.ctl(`calendars/${EMAIL}/seed`, {
      count: 5,
      start: "2030-01-01T09:00:00Z",
    });
    const ids = seeded.body.ids as string[];
    const full = await h.listAll(at, {});
    assert.equal(full.items.length, 5);

    const inserted = await h.api(
      at,
      "POST",
      "calendars/primary/events",
      event("new", "2030-02-01T10:00:00Z"),
    );
    assert.equal(inserted.status, 200);
    const newId = inserted.body.id as string;
    assert.match(newId, /^[a-v0-9]+$/);
    const patched = await h.api(at, "PATCH", `calendars/primary/events/${ids[1]}`, {
      summary: "renamed",
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.summary, "renamed");
    assert.equal(patched.body.start && typeof patched.body.start, "object");
    const del = await call(`${h.emu.url}/calendar/v3/calendars/primary/events/${ids[2]}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${at}` },
    });
    assert.equal(del.status, 204);
    const again = await h.api(at, "DELETE", `calendars/primary/events/${ids[2]}`);
    assert.equal(again.status, 410);
    assert.equal(
      (again.body.error as { errors: { reason: string }[] }).errors[0].reason,
      "deleted",
    );
    const unknown = await h.api(at, "DELETE", `calendars/primary/events/abcdefghij`);
    assert.equal(unknown.status, 404);

    const inc = await h.listAll(at, { syncToken: full.syncToken });
    const byId = new Map(inc.items.map((i) => [i.id as string, i]));
    assert.deepEqual([...byId.keys()].sort(), [newId, ids[1], ids[2]].sort());
    assert.deepEqual(byId.get(ids[2]), {
      kind: "calendar#event",
      etag: byId.get(ids[2])!.etag,
      id: ids[2],
      status: "cancelled",
    });
    assert.equal(byId.get(ids[1])!.summary, "renamed");

    // Nothing changed since: the next incremental is empty.
    const none = await h.listAll(at, { syncToken: inc.syncToken });
    assert.equal(none.items.length, 0);

    // Full list hides the cancelled event; showDeleted shows it.
    assert.equal((await h.listAll(at, {})).items.length, 5);
    assert.equal((await h.listAll(at, { showDeleted: "true" })).items.length, 6);
  });
});

Deno.test("events.list: changes made while paging are not missed", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const ids =
      (await h.ctl(`calendars/${EMAIL}/seed`, { count: 6, start: "2030-01-01T00:00:00Z" }))
        .body.ids as string[];
    const p1 = await h.list(at, { maxResults: "2" });
    // Change an event already returned, delete one not yet returned, insert a new one.
    await h.api(at, "PATCH", `calendars/primary/events/${ids[0]}`, { summary: "changed" });
    await h.api(at, "DELETE", `calendars/primary/events/${ids[4]}`);
    const created = await h.api(
      at,
      "POST",
      "calendars/primary/events",
      event("late", "2030-03-01T00:00:00Z"),
    );
    let token = p1.body.nextPageToken as string;
    const seen = new Set((p1.body.items as { id: string }[]).map((i) => i.id));
    let syncToken: string | undefined;
    while (token) {
      const page = await h.list(at, { maxResults: "2", pageToken: token });
      for (const i of page.body.items as { id: string }[]) seen.add(i.id);
      token = page.body.nextPageToken as string;
      syncToken = page.body.nextSyncToken as string | undefined;
    }
    for (const id of [ids[1], ids[2], ids[3], ids[5]]) assert.ok(seen.has(id), id);
    const inc = await h.listAll(at, { syncToken: syncToken! });
    const changed = new Set(inc.items.map((i) => i.id));
    assert.ok(changed.has(ids[0]));
    assert.ok(changed.has(ids[4]));
    assert.ok(changed.has(created.body.id));
  });
});

Deno.test("events.list: syncToken restrictions, 410 after invalidation and for garbage", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const { syncToken } = await h.listAll(at, {});
    for (
      const [k, v] of [
        ["timeMin", "2030-01-01T00:00:00Z"],
        ["timeMax", "2030-01-01T00:00:00Z"],
        ["updatedMin", "2030-01-01T00:00:00Z"],
        ["q", "x"],
        ["orderBy", "updated"],
        ["iCalUID", "x"],
        ["privateExtendedProperty", "a=b"],
        ["sharedExtendedProperty", "a=b"],
        ["showDeleted", "false"],
      ]
    ) {
      const res = await h.list(at, { syncToken, [k]: v });
      assert.equal(res.status, 400, k);
      const err = res.body.error as { code: number; errors: { reason: string }[] };
      assert.equal(err.code, 400);
      assert.equal(err.errors[0].reason, "invalid");
    }
    assert.equal((await h.list(at, { syncToken, showDeleted: "true" })).status, 200);

    const gone = {
      error: {
        errors: [{
          domain: "calendar",
          reason: "fullSyncRequired",
          message: "Sync token is no longer valid, a full sync is required.",
          locationType: "parameter",
          location: "syncToken",
        }],
        code: 410,
        message: "Sync token is no longer valid, a full sync is required.",
      },
    };
    const garbage = await h.list(at, { syncToken: "not-a-token" });
    assert.equal(garbage.status, 410);
    assert.deepEqual(garbage.body, gone);

    await h.ctl(`calendars/${EMAIL}/invalidate_sync_tokens`, {});
    const invalid = await h.list(at, { syncToken });
    assert.equal(invalid.status, 410);
    assert.deepEqual(invalid.body, gone);
    // A fresh full sync yields a working token again.
    const fresh = await h.listAll(at, {});
    assert.equal((await h.list(at, { syncToken: fresh.syncToken })).status, 200);
  });
});

Deno.test("events.list: paging knobs give empty pages that still carry nextPageToken", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    await h.ctl(`calendars/${EMAIL}/seed`, { count: 5 });
    await h.ctl("config", {
      paging: { emptyPagesFirst: 2, trailingEmptyPage: true, pageSizeCap: 2 },
    });
    const first = await h.list(at, {});
    assert.deepEqual(first.body.items, []);
    assert.equal(typeof first.body.nextPageToken, "string");
    const all = await h.listAll(at, {});
    // 2 empty + 3 short pages (2,2,1) + 1 trailing empty page.
    assert.equal(all.pages, 6);
    assert.equal(all.items.length, 5);
  });
});

Deno.test("events: validation, duplicate ids, recurring expansion and instance exceptions", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const mixed = await h.api(at, "POST", "calendars/primary/events", {
      start: { date: "2030-01-01" },
      end: { dateTime: "2030-01-01T10:00:00Z" },
    });
    assert.equal(mixed.status, 400);
    const backwards = await h.api(at, "POST", "calendars/primary/events", {
      start: { dateTime: "2030-01-01T10:00:00Z" },
      end: { dateTime: "2030-01-01T09:00:00Z" },
    });
    assert.equal(backwards.status, 400);
    const withId = { id: "mevent0001", ...event("x", "2030-01-01T10:00:00Z") };
    assert.equal((await h.api(at, "POST", "calendars/primary/events", withId)).status, 200);
    const dup = await h.api(at, "POST", "calendars/primary/events", withId);
    assert.equal(dup.status, 409);
    assert.equal(
      (dup.body.error as { errors: { reason: string }[] }).errors[0].reason,
      "duplicate",
    );

    const { syncToken } = await h.listAll(at, { singleEvents: "true" });
    const series = await h.api(at, "POST", "calendars/primary/events", {
      id: "series0001",
      summary: "standup",
      start: { dateTime: "2030-01-07T09:00:00", timeZone: "Europe/Berlin" },
      end: { dateTime: "2030-01-07T09:15:00", timeZone: "Europe/Berlin" },
      recurrence: ["RRULE:FREQ=WEEKLY;COUNT=3;BYDAY=MO"],
    });
    assert.equal(series.status, 200, JSON.stringify(series.body));
    const expanded = await h.listAll(at, { singleEvents: "true", orderBy: "startTime" });
    const instances = expanded.items.filter((i) => i.recurringEventId === "series0001");
    assert.deepEqual(instances.map((i) => i.id), [
      "series0001_20300107T080000Z",
      "series0001_20300114T080000Z",
      "series0001_20300121T080000Z",
    ]);
    assert.deepEqual(instances[0].originalStartTime, {
      dateTime: "2030-01-07T09:00:00+01:00",
      timeZone: "Europe/Berlin",
    });
    const masters = await h.listAll(at, { singleEvents: "false" });
    assert.ok(masters.items.some((i) => i.id === "series0001" && Array.isArray(i.recurrence)));

    // Cancel one instance and move another.
    assert.equal(
      (await h.api(at, "DELETE", "calendars/primary/events/series0001_20300114T080000Z")).status,
      204,
    );
    const moved = await h.api(at, "PATCH", "calendars/primary/events/series0001_20300121T080000Z", {
      start: { dateTime: "2030-01-21T11:00:00+01:00" },
      end: { dateTime: "2030-01-21T11:30:00+01:00" },
    });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.recurringEventId, "series0001");

    const inc = await h.listAll(at, { singleEvents: "true", syncToken });
    const byId = new Map(inc.items.map((i) => [i.id as string, i]));
    assert.equal(byId.size, 3);
    const cancelledInstance = byId.get("series0001_20300114T080000Z")!;
    assert.equal(cancelledInstance.status, "cancelled");
    assert.equal(cancelledInstance.recurringEventId, "series0001");
    assert.ok(cancelledInstance.originalStartTime);
    assert.equal(
      (byId.get("series0001_20300121T080000Z")!.start as { dateTime: string }).dateTime,
      "2030-01-21T11:00:00+01:00",
    );

    const truth = await h.ctl(`calendars/${EMAIL}/events`);
    assert.equal(truth.body.count, 3); // mevent0001 + two live instances
  });
});

// ---- push -------------------------------------------------------------------------------------

Deno.test("watch: sync message first, exists messages with increasing gaps, stop ends delivery", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      const watch = await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "chan-1",
        type: "web_hook",
        address: rx.url,
        token: "route=alice",
        params: { ttl: "99999999" },
      });
      assert.equal(watch.status, 200);
      assert.equal(watch.body.kind, "api#channel");
      assert.equal(watch.body.id, "chan-1");
      assert.equal(watch.body.token, "route=alice");
      assert.equal(typeof watch.body.expiration, "string");
      assert.match(watch.body.expiration as string, /^\d+$/);
      const clock = (await h.ctl("clock")).body.nowMs as number;
      const exp = Number(watch.body.expiration);
      assert.ok(exp <= clock + 604800_000 && exp > clock + 604700_000, "capped at 7 days");
      assert.equal(
        watch.body.resourceUri,
        `${h.emu.url}/calendar/v3/calendars/${encodeURIComponent(EMAIL)}/events?alt=json`,
      );

      // Sync message arrived before the watch response (default timing).
      assert.equal(rx.received.length, 1);
      const sync = rx.received[0].headers;
      assert.equal(sync.get("x-goog-resource-state"), "sync");
      assert.equal(sync.get("x-goog-message-number"), "1");
      assert.equal(sync.get("x-goog-channel-id"), "chan-1");
      assert.equal(sync.get("x-goog-channel-token"), "route=alice");
      assert.equal(sync.get("x-goog-resource-id"), watch.body.resourceId);
      assert.equal(sync.get("x-goog-resource-uri"), watch.body.resourceUri);
      assert.equal(sync.get("x-goog-channel-expiration"), new Date(exp).toUTCString());
      assert.equal(sync.get("user-agent"), "APIs-Google");
      assert.equal(sync.get("content-length"), "0");
      assert.equal(rx.received[0].body, "");

      const dup = await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "chan-1",
        type: "web_hook",
        address: rx.url,
      });
      assert.equal(dup.status, 400);
      assert.equal(
        (dup.body.error as { errors: { reason: string }[] }).errors[0].reason,
        "channelIdNotUnique",
      );
      const notHttps = await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "chan-2",
        type: "web_hook",
        address: "http://example.com/hook",
      });
      assert.equal(notHttps.status, 400);

      const created = await h.api(
        at,
        "POST",
        "calendars/primary/events",
        event("a", "2030-01-01T10:00:00Z"),
      );
      await h.api(at, "PATCH", `calendars/primary/events/${created.body.id}`, { summary: "b" });
      await h.api(at, "DELETE", `calendars/primary/events/${created.body.id}`);
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 4);
      const numbers = rx.received.map((r) => Number(r.headers.get("x-goog-message-number")));
      for (let i = 1; i < numbers.length; i++) {
        assert.ok(numbers[i] > numbers[i - 1] + 1, `not strictly increasing with gaps: ${numbers}`);
      }
      for (const r of rx.received.slice(1)) {
        assert.equal(r.headers.get("x-goog-resource-state"), "exists");
        assert.equal(r.headers.get("x-goog-channel-token"), "route=alice");
        assert.equal(r.headers.get("x-goog-resource-id"), watch.body.resourceId);
      }

      const stopBad = await h.api(at, "POST", "channels/stop", { id: "chan-1", resourceId: "x" });
      assert.equal(stopBad.status, 404);
      const stop = await call(`${h.emu.url}/calendar/v3/channels/stop`, {
        method: "POST",
        headers: { authorization: `Bearer ${at}` },
        body: JSON.stringify({ id: "chan-1", resourceId: watch.body.resourceId }),
      });
      assert.equal(stop.status, 204);
      await h.api(at, "POST", "calendars/primary/events", event("c", "2030-01-02T10:00:00Z"));
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 4);
      const channels = await h.ctl("channels");
      assert.equal((channels.body.channels as { status: string }[])[0].status, "stopped");

      const counts = (await h.ctl("counters")).body.counts as Record<string, number>;
      assert.equal(counts["events.watch"], 3);
      assert.equal(counts["channels.stop"], 2);
      assert.equal(counts["events.insert"], 2);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("push: retries only on 500/502/503/504, 4xx is dropped; expired channels get nothing", async () => {
  // Receiver: 1st (sync) ok, then 503, 502, ok; then 404; then 500 forever.
  const statuses = [200, 503, 502, 200, 404];
  const rx = startReceiver((n) => statuses[n - 1] ?? 500);
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "retry-chan",
        type: "webhook",
        address: rx.url,
        params: { ttl: "3600" },
      });
      await h.api(at, "POST", "calendars/primary/events", event("a", "2030-01-01T10:00:00Z"));
      await h.emu.flushDeliveries();
      await h.api(at, "POST", "calendars/primary/events", event("b", "2030-01-01T11:00:00Z"));
      await h.emu.flushDeliveries();
      await h.api(at, "POST", "calendars/primary/events", event("c", "2030-01-01T12:00:00Z"));
      await h.emu.flushDeliveries();
      const log = (await h.ctl("deliveries?channelId=retry-chan")).body.deliveries as {
        outcome: string;
        attempts: { status?: number }[];
      }[];
      assert.equal(log.length, 4);
      assert.deepEqual(log[1].attempts.map((a) => a.status), [503, 502, 200]);
      assert.equal(log[1].outcome, "delivered");
      assert.deepEqual(log[2].attempts.map((a) => a.status), [404]);
      assert.equal(log[2].outcome, "failed");
      assert.deepEqual(log[3].attempts.map((a) => a.status), [500, 500, 500, 500]);
      assert.equal(log[3].outcome, "failed");

      // Dropped notifications are logged but never sent.
      const before = rx.received.length;
      await h.ctl("drops", { next: 1 });
      await h.ctl("channels/retry-chan/notify", {});
      assert.equal(rx.received.length, before);

      // Past expiration (emulator clock), nothing more is delivered.
      await h.ctl("clock", { advanceSeconds: 3601 });
      await h.api(at, "POST", "calendars/primary/events", event("d", "2030-01-01T13:00:00Z"));
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, before);
      const ch = (await h.ctl("channels")).body.channels as { status: string }[];
      assert.equal(ch[0].status, "expired");
    }, { retryBaseMs: 5 });
  } finally {
    await rx.close();
  }
});

Deno.test("push: sync message can be sent after the watch response", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const at = await h.login();
      const res = await h.api(at, "POST", "calendars/primary/events/watch", {
        id: "late-sync",
        type: "web_hook",
        address: rx.url,
      });
      assert.equal(res.status, 200);
      assert.equal(rx.received.length, 0);
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 1);
      assert.equal(rx.received[0].headers.get("x-goog-resource-state"), "sync");
    }, { syncMessageTiming: "after" });
  } finally {
    await rx.close();
  }
});

// ---- faults & counters ------------------------------------------------------------------------

Deno.test("faults: queued rules return Google error bodies; counters count every call", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    await h.ctl("counters/reset", {});
    await h.ctl("faults", {
      rules: [
        { method: "GET", path: "events", status: 503, skip: 1, times: 1 },
        { operation: "events.insert", status: 403, reason: "rateLimitExceeded" },
        { operation: "events.insert", status: 429 },
        { operation: "events.insert", status: 500 },
      ],
    });
    assert.equal((await h.list(at, {})).status, 200);
    const r503 = await h.list(at, {});
    assert.equal(r503.status, 503);
    assert.deepEqual(r503.body, {
      error: {
        errors: [{ domain: "global", reason: "backendError", message: "Backend Error" }],
        code: 503,
        message: "Backend Error",
      },
    });
    assert.equal((await h.list(at, {})).status, 200);

    const body = event("x", "2030-01-01T10:00:00Z");
    const r403 = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(r403.status, 403);
    assert.deepEqual((r403.body.error as { errors: unknown[] }).errors[0], {
      domain: "usageLimits",
      reason: "rateLimitExceeded",
      message: "Rate Limit Exceeded",
    });
    const r429 = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(r429.status, 429);
    assert.equal(
      (r429.body.error as { errors: { reason: string }[] }).errors[0].reason,
      "rateLimitExceeded",
    );
    const r500 = await h.api(at, "POST", "calendars/primary/events", body);
    assert.equal(r500.status, 500);
    assert.equal(
      (r500.body.error as { errors: { reason: string }[] }).errors[0].reason,
      "backendError",
    );
    assert.equal((await h.api(at, "POST", "calendars/primary/events", body)).status, 200);
    assert.deepEqual((await h.ctl("faults")).body.rules, []);

    await h.ctl("latency", { ms: 60 });
    const t0 = performance.now();
    assert.equal((await h.list(at, {})).status, 200);
    assert.ok(performance.now() - t0 >= 55, "latency knob applied");
    await h.ctl("latency", { ms: 0 });

    const counts = (await h.ctl("counters")).body.counts as Record<string, number>;
    assert.equal(counts["events.list"], 4);
    assert.equal(counts["events.insert"], 4);
    // Per calendar, as the request named it: tests that share an emulator count only their own.
    assert.deepEqual((await h.ctl("counters?calendarId=primary")).body.counts, {
      "events.insert": 4,
      "events.list": 4,
    });
    assert.deepEqual((await h.ctl("counters?calendarId=someone-else")).body.counts, {});
    await h.ctl("counters/reset", {});
    assert.deepEqual((await h.ctl("counters")).body.counts, {});
  });
});

Deno.test("control: reset clears state and invalidates old tokens", async () => {
  await withEmulator(async (h) => {
    const at = await h.login();
    const { syncToken } = await h.listAll(at, {});
    await h.ctl("reset", {});
    assert.equal((await h.list(at, {})).status, 401);
    const at2 = await h.login();
    assert.equal((await h.list(at2, { syncToken })).status, 410);
  });
});
