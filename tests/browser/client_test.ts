// The typed browser client (web/client) against the local stack: every call a page makes, as
// the signed-in user, and what each kind of failure looks like to the app.
import assert from "node:assert/strict";
import { connectDb, eventually, stack } from "../../devkit/stack.ts";
import { signUserToken } from "../../stack/keys.ts";
import { calendly } from "../../devkit/calendly.ts";
import { type CalendarSyncError, isCalendarSyncError } from "../../web/client/mod.ts";
import { addGoogleEvent, clientFor, createPlanner, daysFromToday, HOUR } from "./fixtures.ts";

/** The CalendarSyncError `promise` rejects with (fails when it resolves or throws otherwise). */
async function failure(promise: Promise<unknown>): Promise<CalendarSyncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isCalendarSyncError(error), `not a CalendarSyncError: ${error}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

Deno.test("without a valid session every call is not_signed_in, and nothing is read as anon", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-anon", { google: false });
    const expired = await signUserToken(planner.user.id, stack.jwtSecret, {
      expiresInSeconds: -120,
    });
    const forged = await signUserToken(planner.user.id, "another-secret-of-at-least-32-characters");
    const noSession = clientFor(null);
    for (
      const call of [
        () => noSession.status(),
        () => noSession.schedule(daysFromToday()),
        () => noSession.refreshNow(),
        () => noSession.replan(),
        () => noSession.connect({ provider: "google", refresh_token: "x" }),
        () => noSession.disconnect(crypto.randomUUID()),
      ]
    ) {
      assert.equal((await failure(call())).kind, "not_signed_in");
    }
    // An API key is not a user's session; an expired session is caught before it is sent.
    const anonAsUser = clientFor({ ...planner.user, jwt: stack.anonKey });
    assert.equal((await failure(anonAsUser.status())).kind, "not_signed_in");
    const expiredClient = clientFor({ ...planner.user, jwt: expired });
    assert.equal((await failure(expiredClient.replan())).kind, "not_signed_in");
    // A token the API refuses (signed with another secret): the server's 401s, mapped.
    const forgedClient = clientFor({ ...planner.user, jwt: forged });
    const readRefused = await failure(forgedClient.status());
    assert.equal(readRefused.kind, "not_signed_in");
    assert.equal(readRefused.status, 401);
    const callRefused = await failure(forgedClient.replan());
    assert.equal(callRefused.kind, "not_signed_in");
    assert.equal(callRefused.status, 401);
  } finally {
    await sql.end();
  }
});

Deno.test("connect, status, refresh now, re-plan and the week: each as the user sees it", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-flow", { google: false });
    const client = clientFor(planner.user);
    const user = await client.user();
    assert.equal(user.id, planner.user.id);
    assert.equal(user.email, planner.user.email);

    // Connect Google (the refresh token Supabase Auth would hand over) and Calendly.
    const { createGoogleAccount } = await import("../../devkit/google.ts");
    const { createCalendlyAccount } = await import("../../devkit/calendly.ts");
    const googleAccount = await createGoogleAccount(planner.user);
    const tomorrowNine = new Date(daysFromToday(1).to.getTime() + 9 * HOUR);
    await addGoogleEvent(
      googleAccount,
      "Board meeting",
      tomorrowNine,
      new Date(tomorrowNine.getTime() + HOUR),
    );
    const google = await client.connect({
      provider: "google",
      refresh_token: googleAccount.refresh_token,
    });
    assert.equal(google.connection.status, "active");
    assert.equal(google.sync.events_synced, 1);
    const calendlyAccount = await createCalendlyAccount(planner.user);
    const calendlyGrant = await calendly<{ refresh_token: string }>("/users", {
      email: calendlyAccount.email,
    });
    const calendlySetup = await client.connect({
      provider: "calendly",
      refresh_token: calendlyGrant.refresh_token,
    });
    assert.equal(calendlySetup.subscription.state, "active");

    const status = await client.status();
    assert.deepEqual(
      status.connections.map((connection) => [connection.provider, connection.status]),
      [["google", "active"], ["calendly", "active"]],
    );
    const [googleConnection] = status.connections;
    assert.equal(googleConnection.id, google.connection.id);
    assert.equal(googleConnection.display_name, googleAccount.email);
    assert.equal(googleConnection.calendars.length, 1);
    const [calendar] = googleConnection.calendars;
    assert.equal(calendar.channel_status, "active");
    assert.ok(calendar.last_synced_at, "the initial sync is recorded");
    assert.equal(calendar.last_error, null);
    assert.equal(status.calendly?.calendly_webhook_enabled, true);
    assert.equal(status.calendly?.email, calendlyAccount.email);
    assert.deepEqual(status.outbound, {
      pending: 0,
      processing: 0,
      completed: 0,
      failed: 0,
      held: 0,
      oldest_pending_age_ms: 0,
    });
    assert.equal(status.timeZone, "UTC");

    // Refresh now syncs the user's calendars: the last sync moves forward.
    const report = await client.refreshNow();
    assert.equal(report.calendars, 2);
    assert.equal(report.failed.length, 0);
    const refreshed = await client.status();
    const before = Date.parse(calendar.last_synced_at!);
    const after = Date.parse(refreshed.connections[0].calendars[0].last_synced_at!);
    assert.ok(after > before, `last sync ${calendar.last_synced_at} → ${after}`);

    // Re-plan: both sessions placed, around the meeting.
    const plan = await client.replan();
    assert.ok(!plan.coalesced);
    assert.equal(plan.placed + plan.kept, 2);
    const week = await client.schedule(daysFromToday(7));
    const meeting = week.busy.find((busy) => busy.title === "Board meeting");
    assert.ok(meeting, JSON.stringify(week.busy));
    assert.equal(meeting.provider, "google");
    assert.equal(Date.parse(meeting.starts_at), tomorrowNine.getTime());
    assert.deepEqual(
      week.sessions.map((session) => [session.title, session.status, session.blocks.length]),
      planner.sessionTitles.map((title) => [title, "scheduled", 1]),
    );
    for (const session of week.sessions) {
      const [block] = session.blocks;
      assert.equal(block.moved, false);
      assert.ok(
        Date.parse(block.ends_at) <= tomorrowNine.getTime() ||
          Date.parse(block.starts_at) >= tomorrowNine.getTime() + HOUR,
        "no block overlaps the meeting",
      );
    }
    // A second re-plan with nothing changed changes nothing.
    const again = await client.replan();
    assert.ok(!again.coalesced && again.unchanged);
  } finally {
    await sql.end();
  }
});

Deno.test("a meeting over a block: the week shows it busy and the block moved", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-move", { sessions: 1 });
    const client = clientFor(planner.user);
    await client.replan();
    const range = daysFromToday(7);
    const [session] = (await client.schedule(range)).sessions;
    const [block] = session.blocks;
    await addGoogleEvent(
      planner.google!.account,
      "Surprise review",
      new Date(block.starts_at),
      new Date(block.ends_at),
    );
    const moved = await eventually(async () => {
      const week = await client.schedule(range);
      const [now] = week.sessions[0].blocks;
      return week.busy.some((busy) => busy.title === "Surprise review") && now.moved && now;
    }, { timeoutMs: 15_000, message: "the meeting in the week and the block moved" });
    assert.notEqual(moved.starts_at, block.starts_at);
    assert.ok(moved.moved_at);
  } finally {
    await sql.end();
  }
});

Deno.test("failures the app can act on: rate limited with Retry-After, not found, needs re-auth", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-errors");
    const client = clientFor(planner.user);

    await client.refreshNow({ force: true });
    const limited = await failure(client.refreshNow({ force: true }));
    assert.equal(limited.kind, "rate_limited");
    assert.equal(limited.status, 429);
    assert.ok(
      limited.retryAfterSeconds !== null && limited.retryAfterSeconds > 0,
      `Retry-After: ${limited.retryAfterSeconds}`,
    );

    const missing = await failure(client.disconnect(crypto.randomUUID()));
    assert.equal(missing.kind, "not_found");

    // A grant Google does not honour: the user must go through Google's consent again.
    const reauth = await failure(
      client.connect({ provider: "google", refresh_token: "1//revoked-or-never-issued" }),
    );
    assert.equal(reauth.kind, "needs_reauth", reauth.message);

    const invalid = await failure(
      client.connect({ provider: "google", refresh_token: "" }),
    );
    assert.equal(invalid.kind, "invalid_request");
  } finally {
    await sql.end();
  }
});

Deno.test("disconnect: the connection shows as revoked and its calendars are gone", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-disconnect", { calendly: true });
    const client = clientFor(planner.user);
    const result = await client.disconnect(planner.google!.connectionId);
    assert.equal(result.status, "revoked");
    const status = await client.status();
    const google = status.connections.find((c) => c.id === planner.google!.connectionId)!;
    assert.equal(google.status, "revoked");
    assert.deepEqual(google.calendars, []);
    const other = status.connections.find((c) => c.id === planner.calendly!.connectionId)!;
    assert.equal(other.status, "active");
  } finally {
    await sql.end();
  }
});

Deno.test("one user's client never sees another user's connections, busy time or sessions", async () => {
  const sql = connectDb();
  try {
    const alice = await createPlanner(sql, "client-alice");
    const bob = await createPlanner(sql, "client-bob", { calendly: true });
    const start = new Date(daysFromToday(1).to.getTime() + 10 * HOUR);
    await addGoogleEvent(
      bob.google!.account,
      "Bob's secret",
      start,
      new Date(start.getTime() + HOUR),
    );
    await clientFor(bob.user).replan();
    await eventually(async () => {
      const week = await clientFor(bob.user).schedule(daysFromToday(7));
      return week.busy.some((busy) => busy.title === "Bob's secret");
    }, { message: "Bob's meeting in Bob's week" });

    const client = clientFor(alice.user);
    await client.replan();
    const status = await client.status();
    assert.deepEqual(status.connections.map((c) => c.id), [alice.google!.connectionId]);
    assert.equal(status.calendly, null);
    const week = await client.schedule(daysFromToday(7));
    assert.deepEqual(week.busy, []);
    assert.deepEqual(week.sessions.map((s) => s.title), alice.sessionTitles);
    // Bob's connection cannot be disconnected by Alice: it does not exist for her.
    assert.equal((await failure(client.disconnect(bob.google!.connectionId))).kind, "not_found");
  } finally {
    await sql.end();
  }
});

Deno.test("watch calls back now and again until stopped", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-watch", { google: false });
    const client = clientFor(planner.user);
    let reads = 0;
    const watch = await client.watch(async () => {
      reads++;
      await client.status();
    }, { pollMs: 50 });
    await eventually(() => Promise.resolve(reads >= 3), { message: "three reads" });
    await watch.stop();
    const stoppedAt = reads;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(reads, stoppedAt, "no read after stop()");
  } finally {
    await sql.end();
  }
});

Deno.test("a week with more busy items than one PostgREST answer carries comes back whole", async () => {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "client-busy");
    const { from } = daysFromToday(7);
    // 1,250 five-minute meetings mirrored into the week: more than max_rows (1,000).
    await sql`insert into public.calendar_events (provider, connection_id, user_id, calendar_id,
        external_id, summary, starts_at, ends_at, is_busy)
      select 'google', ${planner.google!.connectionId}, ${planner.user.id}, 'bulk',
        'bulk-' || i, 'Meeting ' || i,
        ${from}::timestamptz + make_interval(mins => 5 * i),
        ${from}::timestamptz + make_interval(mins => 5 * i + 5), true
      from generate_series(1, 1250) as i`;
    const week = await clientFor(planner.user).schedule(daysFromToday(7));
    const bulk = week.busy.filter((busy) => busy.title?.startsWith("Meeting "));
    assert.equal(bulk.length, 1250, "every busy item, past the first page");
    assert.equal(new Set(bulk.map((busy) => busy.id)).size, 1250, "none twice");
  } finally {
    await sql.end();
  }
});
