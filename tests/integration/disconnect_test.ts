// Disconnect and user deletion through the gateway against the emulators: afterwards nothing of
// the connection is live at the provider (channels stopped, grant revoked), nothing of it is
// left in the database but the revoked connection, and nobody else's connection is touched.
import assert from "node:assert/strict";
import {
  callFunction,
  connectDb,
  createUser,
  eventually,
  type Sql,
  stack,
  type TestUser,
} from "../../devkit/stack.ts";
import { planAroundTheClock, replan } from "../../devkit/planning.ts";
import { connectGoogle, createGoogleAccount, emulator, seedEvents } from "../../devkit/google.ts";
import { calendly, connectCalendly, createCalendlyAccount } from "../../devkit/calendly.ts";

function disconnect(token: string, connectionId: string) {
  return callFunction("disconnect-calendar", token, { connection_id: connectionId });
}

async function activeChannels(calendarId: string): Promise<number> {
  const { channels } = await emulator<{ channels: unknown[] }>(
    `/channels?status=active&calendarId=${encodeURIComponent(calendarId)}`,
  );
  return channels.length;
}

async function googleGrantRevoked(refreshToken: string): Promise<boolean> {
  const token = await emulator<{ revoked: boolean; revokedVia: string | null }>(
    `/refresh_tokens/${encodeURIComponent(refreshToken)}`,
  );
  return token.revoked && token.revokedVia === "revoke_endpoint";
}

Deno.test("a user disconnects Google: channels stopped and grant revoked at Google, mirror gone, others untouched", async () => {
  const sql = connectDb();
  try {
    const alice = await createUser(sql, "disconnect-a");
    const bob = await createUser(sql, "disconnect-b");
    const aliceAccount = await createGoogleAccount(alice);
    const bobAccount = await createGoogleAccount(bob);
    await seedEvents(aliceAccount.calendar_id, 5);
    await seedEvents(bobAccount.calendar_id, 3);
    const aliceSetup = await connectGoogle(alice, aliceAccount);
    const bobSetup = await connectGoogle(bob, bobAccount);
    assert.equal(await activeChannels(aliceAccount.calendar_id), 1);

    // Someone else's connection does not exist for the caller.
    const foreign = await disconnect(bob.jwt, aliceSetup.connection.id);
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal(await activeChannels(aliceAccount.calendar_id), 1, "nothing happened");

    const done = await disconnect(alice.jwt, aliceSetup.connection.id);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.status, "revoked");
    assert.equal(done.body.channels_to_stop, 1);

    await eventually(async () => (await activeChannels(aliceAccount.calendar_id)) === 0, {
      message: "Alice's channel stopped at Google",
    });
    await eventually(() => googleGrantRevoked(aliceAccount.refresh_token), {
      message: "Alice's grant revoked at Google's revoke endpoint",
    });
    const [left] = await sql`select
        (select count(*)::int from public.calendar_events where user_id = ${alice.id}) as events,
        (select count(*)::int from public.calendar_sync_state where user_id = ${alice.id}) as states,
        (select status from public.calendar_connections where id = ${aliceSetup.connection.id})
          as status,
        (select refresh_token_encrypted from public.calendar_connections
          where id = ${aliceSetup.connection.id}) as token`;
    assert.deepEqual(left, { events: 0, states: 0, status: "revoked", token: null });
    // The item completes just after the grant is revoked.
    await eventually(async () => {
      const [release] = await sql`select status from public.outbound_queue
        where operation = 'revoke_token' and connection_id = ${aliceSetup.connection.id}`;
      return release?.status === "COMPLETED";
    }, { message: "the release completed" });

    // Bob is untouched.
    assert.equal(await activeChannels(bobAccount.calendar_id), 1);
    assert.equal(await googleGrantRevoked(bobAccount.refresh_token), false);
    const [bobLeft] = await sql`select count(*)::int as events from public.calendar_events
      where connection_id = ${bobSetup.connection.id}`;
    assert.equal(bobLeft.events, 3);

    // Consenting again (a new grant) makes the connection active and live again.
    const again = await connectGoogle(alice, await createGoogleAccount(alice));
    assert.equal(again.connection.id, aliceSetup.connection.id);
    assert.equal(again.connection.status, "active");
    assert.equal(await activeChannels(aliceAccount.calendar_id), 1);
  } finally {
    await sql.end();
  }
});

Deno.test("a server disconnects with the service role; a bad request changes nothing", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "disconnect-s");
    const account = await createGoogleAccount(user);
    const setup = await connectGoogle(user, account);

    const malformed = await disconnect(stack.serviceRoleKey, "not-a-uuid");
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    const unknown = await disconnect(stack.serviceRoleKey, crypto.randomUUID());
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const anonymous = await disconnect(stack.anonKey, setup.connection.id);
    assert.equal(anonymous.status, 401, JSON.stringify(anonymous.body));
    assert.equal(await activeChannels(account.calendar_id), 1, "nothing happened");

    const done = await disconnect(stack.serviceRoleKey, setup.connection.id);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await eventually(async () => (await activeChannels(account.calendar_id)) === 0, {
      message: "the channel stopped at Google",
    });
    await eventually(() => googleGrantRevoked(account.refresh_token), {
      message: "the grant revoked",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("deleting a user from auth.users leaves no live channel at Google and revokes the grant", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "deleted");
    const account = await createGoogleAccount(user);
    await connectGoogle(user, account);
    assert.equal(await activeChannels(account.calendar_id), 1);

    await sql`delete from auth.users where id = ${user.id}`;

    await eventually(async () => (await activeChannels(account.calendar_id)) === 0, {
      message: "the deleted user's channel stopped at Google",
    });
    await eventually(() => googleGrantRevoked(account.refresh_token), {
      message: "the deleted user's grant revoked",
    });
    const [rows] = await sql`select count(*)::int as n from public.calendar_connections
      where user_id = ${user.id}`;
    assert.equal(rows.n, 0);
  } finally {
    await sql.end();
  }
});

/** The user's planned blocks, written back to Google and drained from the queue. */
async function writtenBack(sql: Sql, user: TestUser, target: "planned" | "primary") {
  await planAroundTheClock(sql, user.id, { writeBack: true });
  if (target === "primary") {
    await sql`update public.scheduling_preferences set write_back_calendar = 'primary'
      where user_id = ${user.id}`;
  }
  for (const title of ["Write", "Read"]) {
    await sql`insert into public.sessions (user_id, title, duration_minutes, earliest_start)
      values (${user.id}, ${title}, 60, now() + interval '2 hours')`;
  }
  const planned = await replan(user);
  assert.equal(planned.body.placed, 2, JSON.stringify(planned.body));
  return await eventually(async () => {
    const links = await sql`select l.calendar_id, l.external_id from public.write_back_links l
      where l.user_id = ${user.id} and l.status = 'live' and l.written_at is not null`;
    return links.length === 2 && links;
  }, { message: "both blocks written to Google" });
}

/** The calendar's events as Google has them (ids), or null once the calendar is deleted. */
async function eventIds(calendarId: string): Promise<string[] | null> {
  try {
    const { items } = await emulator<{ items: { id: string; status?: string }[] }>(
      `/calendars/${encodeURIComponent(calendarId)}/events`,
    );
    return items.filter((event) => event.status !== "cancelled").map((event) => event.id);
  } catch (error) {
    if (String(error).includes("→ 404")) return null;
    throw error;
  }
}

Deno.test("disconnecting Google removes what write-back wrote: the Planned sessions calendar, or our blocks in primary (the person's own events stay)", async () => {
  const sql = connectDb();
  try {
    // Blocks in the calendar the bundle created: it goes as a whole.
    const planner = await createUser(sql, "disconnect-wb");
    const plannerAccount = await createGoogleAccount(planner);
    const plannerSetup = await connectGoogle(planner, plannerAccount);
    const [{ calendar_id: plannedCalendar }] = await writtenBack(sql, planner, "planned");
    assert.notEqual(plannedCalendar, plannerAccount.calendar_id);
    assert.equal((await eventIds(plannedCalendar))?.length, 2);

    // Blocks in the person's primary calendar, beside a meeting of their own: only ours go.
    const colleague = await createUser(sql, "disconnect-wbp");
    const colleagueAccount = await createGoogleAccount(colleague);
    await seedEvents(colleagueAccount.calendar_id, 1);
    const colleagueSetup = await connectGoogle(colleague, colleagueAccount);
    const ours = await writtenBack(sql, colleague, "primary");
    assert.ok(ours.every((link) => link.calendar_id === colleagueAccount.calendar_id));
    const before = await eventIds(colleagueAccount.calendar_id);
    assert.equal(before?.length, 3, "the person's meeting and our two blocks");

    for (const [user, setup] of [[planner, plannerSetup], [colleague, colleagueSetup]] as const) {
      const done = await disconnect(user.jwt, setup.connection.id);
      assert.equal(done.status, 200, JSON.stringify(done.body));
    }
    await eventually(async () => (await eventIds(plannedCalendar)) === null, {
      message: "the Planned sessions calendar deleted at Google",
    });
    const left = await eventually(async () => {
      const ids = await eventIds(colleagueAccount.calendar_id);
      return ids?.length === 1 && ids;
    }, { message: "our blocks removed from the primary calendar" });
    assert.ok(!ours.some((link) => left.includes(link.external_id)), "the one left is theirs");
    for (const account of [plannerAccount, colleagueAccount]) {
      await eventually(() => googleGrantRevoked(account.refresh_token), {
        message: "the grant revoked after the removals",
      });
    }
    // Each item completes just after its grant is revoked.
    const notes = await eventually(async () => {
      const rows = await sql`select note from public.outbound_queue
        where operation = 'revoke_token' and status = 'COMPLETED'
          and connection_id in (${plannerSetup.connection.id}, ${colleagueSetup.connection.id})
        order by note`;
      return rows.length === 2 && rows;
    }, { message: "both releases completed" });
    assert.deepEqual(notes.map((row) => row.note.split(",")[0]), [
      "released: 1 written item(s) removed",
      "released: 2 written item(s) removed",
    ]);
    const [settings] = await sql`select settings from public.calendar_connections
      where id = ${plannerSetup.connection.id}`;
    assert.equal(settings.settings.planned_calendar_id, undefined);
  } finally {
    await sql.end();
  }
});

Deno.test("a user disconnects Calendly: the webhook subscription is deleted and the grant revoked", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "disconnect-c");
    const account = await createCalendlyAccount(user);
    const setup = await connectCalendly(user, account);
    const subscriptions = async () =>
      (await calendly<{ subscriptions: { uri: string }[] }>("/subscriptions")).subscriptions
        .filter((subscription) => subscription.uri === setup.subscription.uri);
    assert.equal((await subscriptions()).length, 1);

    const done = await disconnect(user.jwt, setup.connection.id);
    assert.equal(done.status, 200, JSON.stringify(done.body));
    await eventually(async () => (await subscriptions()).length === 0, {
      message: "the subscription deleted at Calendly",
    });
    // The grant the app held is revoked; only the token it never used is still live.
    await eventually(async () => {
      const { users } = await calendly<
        { users: { uri: string; refresh_tokens: { refresh_token: string; state: string }[] }[] }
      >("/users");
      const live = users.find((candidate) => candidate.uri === account.uri)!.refresh_tokens
        .filter((token) => token.state === "active").map((token) => token.refresh_token);
      return live.length === 1 && live[0] === account.refresh_token;
    }, { message: "the app's Calendly grant revoked" });
    const [left] = await sql`select count(*)::int as n from public.calendar_events
      where connection_id = ${setup.connection.id}`;
    assert.equal(left.n, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("a browser may call disconnect-calendar: the CORS preflight is answered", async () => {
  const response = await fetch(stack.functionUrl("disconnect-calendar"), {
    method: "OPTIONS",
    headers: {
      origin: "https://app.example.test",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  await response.body?.cancel();
  assert.ok(response.ok, `preflight answered ${response.status}`);
  assert.ok(response.headers.get("access-control-allow-origin"));
  assert.match(response.headers.get("access-control-allow-headers") ?? "", /authorization/i);
});
