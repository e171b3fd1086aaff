// Calendly end to end: the Calendly emulator, the gateway, the functions and the database —
// connecting, signed deliveries (and everything that must be refused), deduplication,
// reschedules in both orders, group events, unknown accounts, re-planning, health and cleanup.
import assert from "node:assert/strict";
import {
  callFunction,
  connectDb,
  createUser,
  eventually,
  rest,
  type Sql,
  stack,
} from "../../devkit/stack.ts";
import {
  book,
  calendly,
  type CalendlyAccount,
  connectCalendly,
  createCalendlyAccount,
} from "../../devkit/calendly.ts";
import { hmacSha256Hex } from "../../supabase/functions/_shared/security/crypto.ts";
import { planAroundTheClock } from "../../devkit/planning.ts";

const HOUR = 3_600_000;

async function connected(sql: Sql, label: string) {
  const user = await createUser(sql, label);
  const account = await createCalendlyAccount(user);
  const setup = await connectCalendly(user, account);
  return { user, account, setup };
}

async function subscriptionKey(account: CalendlyAccount): Promise<string> {
  const { subscriptions } = await calendly<{
    subscriptions: { user: string; state: string; signing_key: string | null }[];
  }>("/subscriptions");
  const live = subscriptions.filter((s) => s.user === account.uri && s.state === "active");
  assert.equal(live.length, 1, "exactly one live subscription");
  return live[0].signing_key!;
}

/** Everything a delivery could change, to prove that a refused one changes nothing. */
async function snapshot(sql: Sql) {
  const [state] = await sql`select
      (select count(*)::int from public.calendar_events where provider = 'calendly') as meetings,
      (select max(updated_at) from public.calendar_events where provider = 'calendly') as touched,
      (select count(*)::int from public.meeting_invitees) as invitees,
      (select count(*)::int from public.webhook_deliveries where provider = 'calendly') as deliveries,
      (select count(*)::int from public.schedule_recalc_state where needs_run) as marks`;
  return JSON.stringify(state);
}

function delivery(account: CalendlyAccount, startsAt: Date) {
  const eventUri = `${stack.calendlyEmulatorUrl}/scheduled_events/${crypto.randomUUID()}`;
  const now = new Date().toISOString();
  return JSON.stringify({
    event: "invitee.created",
    created_at: now,
    created_by: account.uri,
    payload: {
      uri: `${eventUri}/invitees/${crypto.randomUUID()}`,
      email: "guest@example.test",
      name: "Guest",
      status: "active",
      event: eventUri,
      created_at: now,
      updated_at: now,
      rescheduled: false,
      old_invitee: null,
      new_invitee: null,
      scheduled_event: {
        uri: eventUri,
        name: "Intro call",
        status: "active",
        start_time: startsAt.toISOString(),
        end_time: new Date(startsAt.getTime() + HOUR).toISOString(),
        created_at: now,
        updated_at: now,
        invitees_counter: { total: 1, active: 1, limit: 1 },
        event_memberships: [{ user: account.uri }],
      },
    },
  });
}

async function post(body: string | Uint8Array, signature: string | null) {
  const response = await fetch(stack.functionUrl("calendly-webhook"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(signature === null ? {} : { "calendly-webhook-signature": signature }),
    },
    body,
  });
  const answer = await response.text();
  return { status: response.status, body: answer };
}

async function sign(key: string, body: string, at = Math.floor(Date.now() / 1000)) {
  return `t=${at},v1=${await hmacSha256Hex(key, `${at}.${body}`)}`;
}

Deno.test("connecting Calendly: one subscription, a FULL sync, and setup again creates nothing new", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "calendly");
    const account = await createCalendlyAccount(user);
    await calendly("/seed", {
      user: account.uri,
      events: [
        { start_time: new Date(Date.now() + 26 * HOUR).toISOString(), duration_minutes: 30 },
        { start_time: new Date(Date.now() - 400 * 24 * HOUR).toISOString(), duration_minutes: 30 },
        {
          start_time: new Date(Date.now() + 50 * HOUR).toISOString(),
          duration_minutes: 30,
          status: "canceled",
        },
      ],
    });
    const setup = await connectCalendly(user, account);
    assert.equal(setup.connection.external_account_id, account.uri);
    assert.equal(setup.subscription.state, "active");
    assert.equal(setup.sync.full_sync, true);
    assert.equal(setup.sync.new, 3);
    assert.equal(setup.sync.meetings_total, 2, "the canceled meeting is not counted");
    await subscriptionKey(account);

    const again = await connectCalendly(user, account);
    assert.equal(again.subscription.uri, setup.subscription.uri, "the same subscription");
    assert.equal(again.subscription.created, false);
    assert.equal(again.sync.full_sync, false, "a repeated setup syncs incrementally");
    await subscriptionKey(account); // still exactly one

    const [state] = await sql`select calendly_initial_sync_complete, calendly_webhook_enabled,
        subscription_uri, subscription_state from public.calendly_sync_state
      where user_id = ${user.id}`;
    assert.deepEqual({ ...state }, {
      calendly_initial_sync_complete: true,
      calendly_webhook_enabled: true,
      subscription_uri: setup.subscription.uri,
      subscription_state: "active",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("signatures: valid applies; tampered, wrong key, stale, future, partial, unsigned or oversized change nothing", async () => {
  const sql = connectDb();
  try {
    const { account } = await connected(sql, "signed");
    const key = await subscriptionKey(account);
    const body = delivery(account, new Date(Date.now() + 30 * HOUR));
    const now = Math.floor(Date.now() / 1000);
    const before = await snapshot(sql);
    const refused: [string, string | Uint8Array, string | null, number][] = [
      ["tampered body", body.replace("Intro call", "Intro calm"), await sign(key, body), 401],
      ["wrong key", body, await sign("not-the-key", body), 401],
      ["stale (4 min old)", body, await sign(key, body, now - 240), 401],
      ["from the future (4 min)", body, await sign(key, body, now + 240), 401],
      ["missing v1", body, `t=${now}`, 400],
      ["missing t", body, (await sign(key, body)).replace(/^t=\d+,/, ""), 400],
      ["unsigned", body, null, 401],
      ["oversized", "x".repeat(256 * 1024 + 1), await sign(key, "x"), 413],
    ];
    for (const [label, payload, signature, expected] of refused) {
      const answer = await post(payload, signature);
      assert.equal(answer.status, expected, `${label}: ${answer.body}`);
      assert.equal(await snapshot(sql), before, `${label} changed nothing`);
    }
    const valid = await post(body, await sign(key, body));
    assert.equal(valid.status, 200, valid.body);
    const [meeting] = await sql`select status, synced_via_webhook from public.meetings
      where external_uri = ${JSON.parse(body).payload.scheduled_event.uri}`;
    assert.deepEqual({ ...meeting }, { status: "active", synced_via_webhook: true });
  } finally {
    await sql.end();
  }
});

Deno.test("five concurrent redeliveries of one body: one event row, one meeting change", async () => {
  const sql = connectDb();
  try {
    const { account } = await connected(sql, "redeliver");
    const booked = await book(account, new Date(Date.now() + 28 * HOUR), 30);
    const eventUri = booked.event.uri;
    const { deliveries } = await calendly<{ deliveries: { index: number }[] }>("/deliveries");
    const last = deliveries.at(-1)!;
    const [first] =
      await sql`select updated_at from public.calendar_events where external_id = ${eventUri}`;
    await calendly(`/deliveries/${last.index}/redeliver`, { times: 5, concurrent: true });
    const events = await sql`select count(*)::int as n from public.calendly_webhook_events
      where dedupe_key = ${"invitee.created:" + booked.invitee.uri}`;
    assert.equal(events[0].n, 1, "one row per delivery");
    const [after] =
      await sql`select updated_at from public.calendar_events where external_id = ${eventUri}`;
    assert.equal(
      after.updated_at.getTime(),
      first.updated_at.getTime(),
      "the meeting changed once",
    );
  } finally {
    await sql.end();
  }
});

for (const order of ["canceled_first", "created_first"] as const) {
  Deno.test(`a reschedule (${order.replace("_", " ")}): old canceled, new active`, async () => {
    const sql = connectDb();
    try {
      const { account } = await connected(sql, `resched-${order}`);
      const booked = await book(account, new Date(Date.now() + 30 * HOUR), 30);
      const moved = await calendly<{ event: { uri: string } }>("/reschedule", {
        invitee: booked.invitee.uri,
        start_time: new Date(Date.now() + 54 * HOUR).toISOString(),
        order,
        wait: true,
      });
      const rows = await sql`select external_uri, status from public.meetings
        where external_uri in (${booked.event.uri}, ${moved.event.uri})`;
      const status = Object.fromEntries(rows.map((r) => [r.external_uri, r.status]));
      assert.equal(status[booked.event.uri], "canceled");
      assert.equal(status[moved.event.uri], "active");
      const [old] = await sql`select rescheduled, status from public.meeting_invitees
        where invitee_uri = ${booked.invitee.uri}`;
      assert.deepEqual({ ...old }, { rescheduled: true, status: "canceled" });
    } finally {
      await sql.end();
    }
  });
}

Deno.test("a group event stays active until its last invitee cancels", async () => {
  const sql = connectDb();
  try {
    const { account } = await connected(sql, "group");
    const start = new Date(Date.now() + 32 * HOUR);
    const first = await book(account, start, 60, { email: "a@example.test" }, { max_invitees: 5 });
    const second = await book(account, start, 60, { email: "b@example.test" }, {
      event: first.event.uri,
    });
    const status = async () =>
      (await sql`select status from public.meetings where external_uri = ${first.event.uri}`)[0]
        .status;
    await calendly("/invitees/cancel", { invitee: first.invitee.uri, wait: true });
    assert.equal(await status(), "active", "one of two invitees canceled: still busy");
    await calendly("/invitees/cancel", { invitee: second.invitee.uri, wait: true });
    assert.equal(await status(), "canceled", "the last one canceled: free");
  } finally {
    await sql.end();
  }
});

Deno.test("a delivery for a Calendly user nobody connected is recorded and changes nothing else", async () => {
  const sql = connectDb();
  try {
    const stranger = await calendly<CalendlyAccount>("/users", { email: "stranger@example.test" });
    const before = await sql`select count(*)::int as n from public.calendar_events`;
    // A subscription made by hand in Calendly's UI (the seed's flow): signed with the shared key.
    const body = delivery(stranger, new Date(Date.now() + 40 * HOUR));
    const answer = await post(body, await sign("emulator-calendly-app-signing-key", body));
    assert.equal(answer.status, 200, answer.body);
    assert.equal(JSON.parse(answer.body).reason, "unknown_account");
    const after = await sql`select count(*)::int as n from public.calendar_events`;
    assert.equal(after[0].n, before[0].n);
    const [recorded] = await sql`select outcome from public.calendly_webhook_events
      where payload ->> 'created_by' = ${stranger.uri}`;
    assert.equal(recorded.outcome, "unknown_account");
  } finally {
    await sql.end();
  }
});

Deno.test("a Calendly booking over a session moves it, and the cancellation frees the time", async () => {
  const sql = connectDb();
  try {
    const { user, account } = await connected(sql, "planner");
    await planAroundTheClock(sql, user.id);
    // Two hours out: a block that has started is frozen and would never step aside.
    const [session] = await sql`insert into public.sessions (user_id, title, duration_minutes,
        earliest_start)
      values (${user.id}, 'Deep work', 60, now() + interval '2 hours') returning id`;
    const planned = await fetch(stack.functionUrl("recalculate-schedule"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(planned.status, 200, await planned.text());
    const blockOf = async () =>
      (await sql`select starts_at from public.session_blocks where session_id = ${session.id}`)[0]
        .starts_at as Date;
    const before = await blockOf();

    const booked = await book(account, before, 60);
    const moved = await eventually(async () => {
      const now = await blockOf();
      return now.getTime() !== before.getTime() ? now : null;
    }, { message: "the session stepping aside" });
    assert.ok(
      moved.getTime() >= before.getTime() + HOUR || moved.getTime() + HOUR <= before.getTime(),
    );
    const [run] = await sql`select trigger from public.schedule_runs where user_id = ${user.id}
      order by created_at desc limit 1`;
    assert.equal(run.trigger, "calendar_change");

    await calendly("/invitees/cancel", { invitee: booked.invitee.uri, wait: true });
    await eventually(async () => {
      const [busy] = await sql`select count(*)::int as n from public.busy_intervals
        where user_id = ${user.id} and source = 'calendly'`;
      return busy.n === 0;
    }, { message: "the canceled meeting no longer busy" });
  } finally {
    await sql.end();
  }
});

Deno.test("health shows each user only their own row; clean_old_webhook_events says how many it removed", async () => {
  const sql = connectDb();
  try {
    const a = await connected(sql, "health-a");
    const b = await connected(sql, "health-b");
    const response = await rest(
      "/calendly_sync_health?select=user_id,email,calendly_webhook_enabled,active_calendly_meetings",
      { jwt: a.user.jwt },
    );
    const rows = await response.json();
    assert.equal(response.status, 200, JSON.stringify(rows));
    assert.deepEqual(rows.map((r: { user_id: string }) => r.user_id), [a.user.id]);
    assert.equal(rows[0].calendly_webhook_enabled, true);
    assert.ok(rows.every((r: { user_id: string }) => r.user_id !== b.user.id));

    await sql`insert into public.webhook_deliveries (provider, dedupe_key, event_type, payload,
        received_at)
      values ('calendly', ${"old-" + crypto.randomUUID()}, 'invitee.created', '{}',
        now() - interval '31 days'),
        ('calendly', ${"old-" + crypto.randomUUID()}, 'invitee.canceled', '{}',
        now() - interval '40 days'),
        ('calendly', ${"new-" + crypto.randomUUID()}, 'invitee.created', '{}', now())`;
    const [{ removed }] = await sql`select public.clean_old_webhook_events() as removed`;
    assert.ok(removed >= 2, `removed ${removed}`);
    const [{ n }] = await sql`select count(*)::int as n from public.webhook_deliveries
      where received_at < now() - interval '30 days'`;
    assert.equal(n, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("manual refreshes with expired access tokens, some at once, never reuse a refresh token", async () => {
  const sql = connectDb();
  try {
    const { setup } = await connected(sql, "rotation");
    await calendly("/config", { tokenGrantsPerMinute: 0 });
    await calendly("/counters/reset", {});
    for (let round = 0; round < 5; round++) {
      await calendly("/access_tokens/expire", {});
      await sql`update public.calendar_connections set access_token_expires_at = now()
        where id = ${setup.connection.id}`;
      const answers = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            callFunction("refresh-calendar-webhook", stack.serviceRoleKey, {
              connection_id: setup.connection.id,
              trigger: "manual",
            }),
        ),
      );
      for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
    const counters = await calendly<{ refresh_token_reuse: number }>("/counters");
    assert.equal(counters.refresh_token_reuse, 0);
    const [connection] = await sql`select status from public.calendar_connections
      where id = ${setup.connection.id}`;
    assert.equal(connection.status, "active");
  } finally {
    await calendly("/config", { tokenGrantsPerMinute: 8 });
    await sql.end();
  }
});

Deno.test("a subscription Calendly disabled is recreated by maintenance", async () => {
  const sql = connectDb();
  try {
    const { account, setup } = await connected(sql, "disabled");
    const uuid = setup.subscription.uri.split("/").pop();
    await calendly(`/subscriptions/${uuid}/state`, { state: "disabled" });
    const refreshed = await callFunction("refresh-calendar-webhook", stack.serviceRoleKey, {
      connection_id: setup.connection.id,
      trigger: "manual",
    });
    const report = refreshed.body;
    assert.equal(refreshed.status, 200, JSON.stringify(report));
    assert.equal(report.renewed, 1);
    await subscriptionKey(account); // exactly one live one again
    const [state] = await sql`select subscription_state, subscription_uri
      from public.calendly_sync_state where connection_id = ${setup.connection.id}`;
    assert.equal(state.subscription_state, "active");
    assert.notEqual(state.subscription_uri, setup.subscription.uri);
  } finally {
    await sql.end();
  }
});
