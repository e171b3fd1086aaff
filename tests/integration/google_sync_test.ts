// Google Calendar push sync end to end: the Google emulator, the gateway, the functions and the
// database, as a user's calendar changes.
import assert from "node:assert/strict";
import { connectDb, createUser, eventually, type Sql, stack } from "../../devkit/stack.ts";
import {
  calendarApi,
  connectGoogle,
  createGoogleAccount,
  emulator,
  mirror,
  mirrorMatchesTruth,
  seedEvents,
} from "../../devkit/google.ts";

async function connectedUser(sql: Sql, events: number) {
  const user = await createUser(sql, "google");
  const account = await createGoogleAccount(user, "Europe/Berlin");
  if (events > 0) await seedEvents(account.calendar_id, events);
  const setup = await connectGoogle(user, account);
  return { user, account, setup, connectionId: setup.connection.id };
}

function untilMirrorMatches(sql: Sql, connectionId: string, calendarId: string, message: string) {
  return eventually(() => mirrorMatchesTruth(sql, connectionId, calendarId), {
    timeoutMs: 15_000,
    message,
  });
}

/** Everything a notification could change, to prove that rejected ones change nothing. */
async function snapshot(sql: Sql, connectionId: string) {
  const [events] = await sql`select count(*)::int as n, max(updated_at) as updated
    from public.calendar_events where connection_id = ${connectionId}`;
  const channels = await sql`select channel_id, last_message_number, last_notification_at, status
    from public.calendar_webhook_channels where connection_id = ${connectionId} order by channel_id`;
  const state = await sql`select needs_sync, cursor, claim_token, generation
    from public.calendar_sync_state where connection_id = ${connectionId}`;
  return JSON.stringify({ events, channels, state });
}

Deno.test("initial sync of 10,000 events takes 4 list calls and mirrors exactly", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "bulk");
    const account = await createGoogleAccount(user, "America/New_York");
    await seedEvents(account.calendar_id, 10_000);
    await emulator("/counters/reset", {});
    const setup = await connectGoogle(user, account);
    // This calendar's requests only: other tests' syncs may still be running.
    const counters = await emulator<{ counts: Record<string, number> }>(
      `/counters?calendarId=${encodeURIComponent(account.calendar_id)}`,
    );
    assert.equal(counters.counts["events.list"], 4, JSON.stringify(counters.counts));
    assert.equal(counters.counts["events.watch"], 1);
    assert.equal(setup.sync.full_sync, true);
    assert.equal(setup.sync.events_total, 10_000);
    assert.ok(await mirrorMatchesTruth(sql, setup.connection.id, account.calendar_id));

    // Calling setup again opens no second channel and re-reads nothing in full.
    const again = await connectGoogle(user, account);
    assert.equal(again.channel.opened, false);
    assert.equal(again.channel.id, setup.channel.id);
    const [{ live }] = await sql`select count(*)::int as live from public.calendar_webhook_channels
      where connection_id = ${setup.connection.id} and status = 'active'`;
    assert.equal(live, 1);
  } finally {
    await sql.end();
  }
});

Deno.test("insert, move and delete in Google reach the mirror through push notifications", async () => {
  const sql = connectDb();
  try {
    const { account, connectionId } = await connectedUser(sql, 3);
    const start = Date.now() + 48 * 3600_000;
    const inserted = await calendarApi(account, "/events", {
      method: "POST",
      body: JSON.stringify({
        summary: "Dentist",
        start: { dateTime: new Date(start).toISOString() },
        end: { dateTime: new Date(start + 3600_000).toISOString() },
      }),
    }).then((response) => response.json());
    await untilMirrorMatches(sql, connectionId, account.calendar_id, "the inserted event");
    assert.ok((await mirror(sql, connectionId)).has(inserted.id));

    const moved = await calendarApi(account, `/events/${inserted.id}`, {
      method: "PATCH",
      body: JSON.stringify({
        start: { dateTime: new Date(start + 7200_000).toISOString() },
        end: { dateTime: new Date(start + 10800_000).toISOString() },
      }),
    });
    assert.equal(moved.status, 200);
    await moved.body?.cancel();
    await eventually(async () => {
      const row = (await mirror(sql, connectionId)).get(inserted.id);
      return row?.[0] === start + 7200_000;
    }, { timeoutMs: 15_000, message: "the moved event" });

    const deleted = await calendarApi(account, `/events/${inserted.id}`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    await eventually(async () => !(await mirror(sql, connectionId)).has(inserted.id), {
      timeoutMs: 15_000,
      message: "the deleted event to leave the mirror",
    });
    assert.ok(await mirrorMatchesTruth(sql, connectionId, account.calendar_id));
  } finally {
    await sql.end();
  }
});

Deno.test("an invalidated sync token leads to a full resync that drops what Google no longer has", async () => {
  const sql = connectDb();
  try {
    const { account, connectionId, setup } = await connectedUser(sql, 20);
    const [before] = await sql`select generation from public.calendar_sync_state
      where connection_id = ${connectionId}`;
    await emulator(
      `/calendars/${encodeURIComponent(account.calendar_id)}/invalidate_sync_tokens`,
      {},
    );
    const victim = [...(await mirror(sql, connectionId)).keys()][0];
    const deleted = await calendarApi(account, `/events/${victim}`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    await deleted.body?.cancel();

    await eventually(async () => {
      const [state] = await sql`select generation, claim_token from public.calendar_sync_state
        where connection_id = ${connectionId}`;
      return state.generation > before.generation && state.claim_token === null;
    }, { timeoutMs: 15_000, message: "a full resync" });
    await untilMirrorMatches(sql, connectionId, account.calendar_id, "the resynced mirror");
    assert.ok(!(await mirror(sql, connectionId)).has(victim));
    assert.equal(setup.sync.events_total, 20);
  } finally {
    await sql.end();
  }
});

Deno.test("50 concurrent notifications: one sync at a time, no duplicates, mirror converges", async () => {
  const sql = connectDb();
  try {
    const { account, connectionId, setup } = await connectedUser(sql, 50);
    // Slow Google down so overlapping syncs would be visible in the emulator's counters.
    await emulator("/latency", { ms: 40 });
    await emulator("/counters/reset", {});
    try {
      const added = await calendarApi(account, "/events", {
        method: "POST",
        body: JSON.stringify({
          start: { dateTime: new Date(Date.now() + 86400_000).toISOString() },
          end: { dateTime: new Date(Date.now() + 90000_000).toISOString() },
        }),
      });
      await added.body?.cancel();
      await Promise.all(
        Array.from(
          { length: 50 },
          () => emulator(`/channels/${setup.channel.id}/notify`, { wait: true }),
        ),
      );
      await untilMirrorMatches(sql, connectionId, account.calendar_id, "the mirror after 50");
      await eventually(async () => {
        const [state] = await sql`select claim_token, needs_sync from public.calendar_sync_state
          where connection_id = ${connectionId}`;
        return state.claim_token === null && !state.needs_sync;
      }, { timeoutMs: 15_000, message: "the syncs to settle" });
    } finally {
      await emulator("/latency", { ms: 0 });
    }
    const counters = await emulator<{ max_in_flight: Record<string, number> }>("/counters");
    assert.equal(
      counters.max_in_flight["events.list"],
      1,
      "never two syncs of one calendar at once",
    );
    const [dupes] = await sql`select count(*) - count(distinct external_id) as n
      from public.calendar_events where connection_id = ${connectionId}`;
    assert.equal(Number(dupes.n), 0);
    assert.ok(await mirrorMatchesTruth(sql, connectionId, account.calendar_id));
  } finally {
    await sql.end();
  }
});

Deno.test("forged, mismatched or malformed notifications get 4xx and change nothing", async () => {
  const sql = connectDb();
  try {
    const { setup, connectionId } = await connectedUser(sql, 2);
    const [channel] = await sql`select channel_id, resource_id from public.calendar_webhook_channels
      where connection_id = ${connectionId} and status = 'active'`;
    const before = await snapshot(sql, connectionId);
    const post = (headers: Record<string, string>) =>
      fetch(stack.functionUrl("google-calendar-webhook"), { method: "POST", headers });
    const valid = {
      "x-goog-channel-id": channel.channel_id,
      "x-goog-resource-id": channel.resource_id,
      "x-goog-resource-state": "exists",
      "x-goog-message-number": "99",
      "x-goog-resource-uri": "https://www.googleapis.com/calendar/v3/calendars/x/events",
    };

    const forged = await post({ ...valid, "x-goog-channel-token": "guessed" });
    assert.equal(forged.status, 401);
    await forged.body?.cancel();
    const noToken = await post(valid);
    assert.equal(noToken.status, 401);
    await noToken.body?.cancel();
    const { "x-goog-channel-id": _, ...missing } = valid;
    const malformed = await post(missing);
    assert.equal(malformed.status, 400);
    await malformed.body?.cancel();
    const badNumber = await post({ ...valid, "x-goog-message-number": "many" });
    assert.equal(badNumber.status, 400);
    await badNumber.body?.cancel();

    // A mismatched resource id: the emulator sends the real token, the resource id is wrong.
    const emulatorChannel = (await emulator<{ channels: { id: string; token: string }[] }>(
      "/channels",
    )).channels.find((candidate) => candidate.id === setup.channel.id)!;
    const mismatched = await post({
      ...valid,
      "x-goog-channel-token": emulatorChannel.token,
      "x-goog-resource-id": "another-resource",
    });
    assert.equal(mismatched.status, 401);
    await mismatched.body?.cancel();

    const unknown = await post({ ...valid, "x-goog-channel-id": crypto.randomUUID() });
    assert.equal(unknown.status, 200);
    assert.equal((await unknown.json()).status, "ignored");

    assert.equal(await snapshot(sql, connectionId), before, "the database is unchanged");
  } finally {
    await sql.end();
  }
});

Deno.test("5xx and 429 while paging are retried and the sync token never skips changes", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "faulty");
    const account = await createGoogleAccount(user);
    await seedEvents(account.calendar_id, 6_000);
    // Page 2 fails twice (503 then 429), then succeeds: the client backs off and retries.
    await emulator("/faults", {
      rules: [
        { operation: "events.list", status: 503, skip: 1, times: 1 },
        { operation: "events.list", status: 429, times: 1 },
      ],
    });
    const setup = await connectGoogle(user, account);
    assert.equal(setup.sync.events_total, 6_000);
    assert.ok(await mirrorMatchesTruth(sql, setup.connection.id, account.calendar_id));

    // A sync that gives up mid-paging leaves the token where it was; the next run converges.
    const [{ cursor: tokenBefore }] = await sql`select cursor from public.calendar_sync_state
      where connection_id = ${setup.connection.id}`;
    await emulator("/faults", {
      rules: [{ operation: "events.list", status: 500, times: 5 }],
    });
    const added = await calendarApi(account, "/events", {
      method: "POST",
      body: JSON.stringify({
        start: { dateTime: new Date(Date.now() + 7200_000).toISOString() },
        end: { dateTime: new Date(Date.now() + 9000_000).toISOString() },
      }),
    });
    await added.body?.cancel();
    await eventually(async () => {
      const [state] = await sql`select last_error, cursor, claim_token
        from public.calendar_sync_state where connection_id = ${setup.connection.id}`;
      return state.last_error && state.claim_token === null ? state : null;
    }, { timeoutMs: 30_000, message: "the failing sync to give up" }).then((state) => {
      assert.equal(state.cursor, tokenBefore, "the token did not move past unapplied changes");
    });
    await emulator(`/channels/${setup.channel.id}/notify`, { wait: true });
    await untilMirrorMatches(sql, setup.connection.id, account.calendar_id, "convergence");
  } finally {
    await emulator("/faults", undefined, "DELETE").catch(() => {});
    await sql.end();
  }
});

Deno.test("a revoked refresh token marks the connection needs_reauth and nothing crashes", async () => {
  const sql = connectDb();
  try {
    const { account, setup, connectionId } = await connectedUser(sql, 1);
    await emulator("/refresh_tokens/revoke", { refresh_token: account.refresh_token });
    const delivery = await emulator<{ outcome: string }>(`/channels/${setup.channel.id}/notify`, {
      wait: true,
    });
    assert.equal(delivery.outcome, "delivered", "the receiver still answers 2xx");
    const connection = await eventually(async () => {
      const [row] = await sql`select status, last_error from public.calendar_connections
        where id = ${connectionId}`;
      return row.status === "needs_reauth" ? row : null;
    }, { message: "needs_reauth" });
    assert.match(connection.last_error, /reauth|invalid_grant|revoked/i);
    const health = await fetch(stack.functionUrl("google-calendar-webhook"), { method: "POST" });
    assert.equal(health.status, 400, "the receiver keeps serving");
    await health.body?.cancel();
  } finally {
    await sql.end();
  }
});

Deno.test("refresh-calendar-webhook renews the channel (new first, old stopped) and syncs", async () => {
  const sql = connectDb();
  try {
    const { user, account, setup, connectionId } = await connectedUser(sql, 2);
    const refresh = (headers: Record<string, string>, body: unknown) =>
      fetch(stack.functionUrl("refresh-calendar-webhook"), {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });

    // A quiet calendar that is not near expiry keeps its channel.
    const kept = await refresh({ authorization: `Bearer ${stack.serviceRoleKey}` }, {
      connection_id: connectionId,
    });
    assert.equal(kept.status, 200);
    const keptReport = await kept.json();
    assert.equal(keptReport.renewed, 0);
    assert.equal(keptReport.kept, 1);

    // The app's refresh button (user JWT, force): a new channel, the old one stopped.
    const added = await calendarApi(account, "/events", {
      method: "POST",
      body: JSON.stringify({
        start: { dateTime: new Date(Date.now() + 5 * 3600_000).toISOString() },
        end: { dateTime: new Date(Date.now() + 6 * 3600_000).toISOString() },
      }),
    });
    await added.body?.cancel();
    const renewed = await refresh({ authorization: `Bearer ${user.jwt}` }, { force: true });
    assert.equal(renewed.status, 200);
    const report = await renewed.json();
    assert.equal(report.renewed, 1);
    assert.deepEqual(report.failed, []);
    const channels = await sql`select channel_id, status from public.calendar_webhook_channels
      where connection_id = ${connectionId} order by created_at`;
    assert.deepEqual(channels.map((channel) => channel.status), ["stopped", "active"]);
    assert.equal(channels[0].channel_id, setup.channel.id);
    const emulatorChannels = (await emulator<{ channels: { id: string; status: string }[] }>(
      "/channels",
    )).channels;
    assert.equal(
      emulatorChannels.find((channel) => channel.id === setup.channel.id)?.status,
      "stopped",
    );
    await untilMirrorMatches(sql, connectionId, account.calendar_id, "the refreshed mirror");

    // pg_cron's call is accepted at once; a wrong cron secret is not.
    const cron = await refresh({ "x-cron-secret": "local-stack-cron-secret" }, { trigger: "cron" });
    assert.equal(cron.status, 202);
    await cron.body?.cancel();
    const forged = await refresh({ "x-cron-secret": "guessed-secret-value" }, { trigger: "cron" });
    assert.equal(forged.status, 401);
    await forged.body?.cancel();
  } finally {
    await sql.end();
  }
});
