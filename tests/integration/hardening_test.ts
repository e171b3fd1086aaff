// Defects found by a review and an attack on the local stack, each shown fixed through the
// gateway: a crashed sync no longer blocks its calendar, an unserved re-plan is swept,
// concurrent setups open one channel, a failed setup leaves no live channel at Google, and
// bad input gets a clear 4xx (unknown users and calendars, forced work in a loop, malformed
// message numbers).
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
import { connectGoogle, createGoogleAccount, emulator } from "../../devkit/google.ts";
import { signUserToken } from "../../stack/keys.ts";

async function moveDatabaseClock(sql: Sql, seconds: number) {
  await sql`update public.app_clock set offset_interval = make_interval(secs => ${seconds})`;
}

Deno.test("a crashed sync blocks its calendar only until its short lease runs out; then the manual refresh runs", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "crashed");
    const account = await createGoogleAccount(user);
    const setup = await connectGoogle(user, account);
    // A sync that claimed the calendar and died (its worker was killed).
    await sql`select public.sync_mark(${setup.connection.id}, ${setup.calendar_id})`;
    const [dead] = await sql`select public.sync_claim(${setup.connection.id},
      ${setup.calendar_id}) as claim`;
    assert.equal(dead.claim.claimed, true);

    const blocked = await callFunction("refresh-calendar-webhook", user.jwt, {});
    assert.equal(blocked.status, 200, JSON.stringify(blocked.body));
    assert.equal(blocked.body.synced, 0, "within the lease the dead sync still holds it");

    // Seconds later (the lease is 5 s), the next trigger takes the calendar over.
    await moveDatabaseClock(sql, 20);
    const refreshed = await callFunction("refresh-calendar-webhook", user.jwt, {});
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.synced, 1, "the manual refresh ran");
    const [state] = await sql`select claim_token, last_error from public.calendar_sync_state
      where connection_id = ${setup.connection.id}`;
    assert.equal(state.claim_token, null);
  } finally {
    await moveDatabaseClock(sql, 0);
    await sql.end();
  }
});

Deno.test("a re-plan nobody served is swept by pg_cron's job", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "unserved");
    await sql`insert into public.sessions (user_id, title, duration_minutes)
      values (${user.id}, 'Write', 60)`;
    // Busy time changed (the mark is set with it) but the in-process re-plan never ran.
    await sql`select public.schedule_mark_plan_needed(${user.id}, 'calendar_change')`;
    await sql`update public.schedule_recalc_state set requested_at = now() - interval '2 minutes'
      where user_id = ${user.id}`;
    await sql.unsafe(
      (await sql`select command from cron.job where jobname = 'serve-plan-marks'`)[0].command,
    );
    const run = await eventually(async () => {
      const [row] = await sql`select trigger from public.schedule_runs where user_id = ${user.id}`;
      return row;
    }, { message: "the swept re-plan", timeoutMs: 15_000 });
    assert.equal(run.trigger, "calendar_change");
    const [state] = await sql`select needs_run from public.schedule_recalc_state
      where user_id = ${user.id}`;
    assert.equal(state.needs_run, false);
  } finally {
    await sql.end();
  }
});

Deno.test("five concurrent setups of one calendar open exactly one channel", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "concurrent");
    const account = await createGoogleAccount(user);
    const answers = await Promise.all(
      Array.from(
        { length: 5 },
        () =>
          callFunction<{ channel: { opened: boolean } }>("setup-calendar-webhook", user.jwt, {
            refresh_token: account.refresh_token,
          }),
      ),
    );
    for (const answer of answers) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const opened = answers.filter((answer) => answer.body.channel.opened).length;
    assert.equal(opened, 1, "one setup opened the channel; the others found it");
    const rows = await sql`select ch.status from public.calendar_webhook_channels ch
      join public.calendar_connections c on c.id = ch.connection_id
      where c.user_id = ${user.id} and ch.status in ('active', 'pending')`;
    assert.equal(rows.length, 1);
    const live = (await emulator<{ channels: { calendarId: string; status: string }[] }>(
      `/channels?status=active&calendarId=${encodeURIComponent(account.calendar_id)}`,
    )).channels;
    assert.equal(live.length, 1, "and Google holds exactly one live channel");
  } finally {
    await sql.end();
  }
});

Deno.test("a setup that fails after events.watch leaves no live channel at Google", async () => {
  const sql = connectDb();
  const activate = "public.channel_activate(uuid, uuid, text, text, timestamptz, text, boolean)";
  try {
    const user = await createUser(sql, "leak");
    const account = await createGoogleAccount(user);
    // The write after events.watch fails (as the gateway's 502s did under load).
    await sql.unsafe(`revoke execute on function ${activate} from service_role`);
    const failed = await callFunction("setup-calendar-webhook", user.jwt, {
      refresh_token: account.refresh_token,
    });
    assert.ok(failed.status >= 500, JSON.stringify(failed.body));
    const channels = (await emulator<{ channels: { calendarId: string; status: string }[] }>(
      `/channels?calendarId=${encodeURIComponent(account.calendar_id)}`,
    )).channels;
    assert.equal(channels.length, 1, "the watch was made");
    assert.equal(channels[0].status, "stopped", "and stopped again at Google");
    const rows = await sql`select ch.status from public.calendar_webhook_channels ch
      join public.calendar_connections c on c.id = ch.connection_id where c.user_id = ${user.id}`;
    assert.deepEqual(rows.map((r) => r.status), ["stopped"], "recorded, never unknown");
  } finally {
    await sql.unsafe(`grant execute on function ${activate} to service_role`);
    await sql.end();
  }
});

Deno.test("a valid token for a user who does not exist, or a made-up user_id, is a clear 404", async () => {
  const sql = connectDb();
  try {
    const ghost = crypto.randomUUID();
    const jwt = await signUserToken(ghost, stack.jwtSecret);
    const account = await createGoogleAccount({ id: ghost, email: `${ghost}@example.test`, jwt });
    const setup = await callFunction("setup-calendar-webhook", jwt, {
      refresh_token: account.refresh_token,
    });
    assert.equal(setup.status, 404, JSON.stringify(setup.body));
    assert.equal(setup.body.error, "user_not_found");
    const plan = await callFunction("recalculate-schedule", jwt, {});
    assert.equal(plan.status, 404, JSON.stringify(plan.body));
    const service = await callFunction("recalculate-schedule", stack.serviceRoleKey, {
      user_id: ghost,
    });
    assert.equal(service.status, 404, JSON.stringify(service.body));
    assert.equal(service.body.error, "user_not_found");
  } finally {
    await sql.end();
  }
});

Deno.test("an unknown calendar_id at setup is a 404 saying the calendar was not found", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "unknown-calendar");
    const account = await createGoogleAccount(user);
    const answer = await callFunction("setup-calendar-webhook", user.jwt, {
      refresh_token: account.refresh_token,
      calendar_id: "no-such-calendar@group.calendar.google.com",
    });
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.equal(answer.body.error, "calendar_not_found");
  } finally {
    await sql.end();
  }
});

async function connectedUser(sql: Sql, label: string): Promise<TestUser> {
  const user = await createUser(sql, label);
  await connectGoogle(user, await createGoogleAccount(user));
  return user;
}

Deno.test("forced refreshes and re-plans are limited per user (429 with Retry-After), not for servers", async () => {
  const sql = connectDb();
  try {
    const user = await connectedUser(sql, "forceful");
    const first = await callFunction("refresh-calendar-webhook", user.jwt, { force: true });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const second = await callFunction("refresh-calendar-webhook", user.jwt, { force: true });
    assert.equal(second.status, 429, JSON.stringify(second.body));
    const retryAfter = Number(second.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${retryAfter}`);
    const unforced = await callFunction("refresh-calendar-webhook", user.jwt, {});
    assert.equal(unforced.status, 200, "an ordinary refresh is not limited");

    const replan = await callFunction("recalculate-schedule", user.jwt, { force: true });
    assert.equal(replan.status, 200, JSON.stringify(replan.body));
    const again = await callFunction("recalculate-schedule", user.jwt, { force: true });
    assert.equal(again.status, 429);

    for (let i = 0; i < 2; i++) {
      const server = await callFunction("refresh-calendar-webhook", stack.serviceRoleKey, {
        user_id: user.id,
        force: true,
      });
      assert.equal(server.status, 200, "the service role is never limited");
    }
  } finally {
    await sql.end();
  }
});

Deno.test("a missing, empty or non-numeric X-Goog-Message-Number is malformed (400)", async () => {
  for (const value of [null, "", "  ", "seven", "12a"]) {
    const headers: Record<string, string> = {
      "x-goog-channel-id": crypto.randomUUID(),
      "x-goog-resource-id": "res",
      "x-goog-resource-state": "exists",
      "x-goog-channel-token": "t",
    };
    if (value !== null) headers["x-goog-message-number"] = value;
    const response = await fetch(stack.functionUrl("google-calendar-webhook"), {
      method: "POST",
      headers,
    });
    const body = await response.json();
    assert.equal(response.status, 400, `${JSON.stringify(value)}: ${JSON.stringify(body)}`);
    assert.equal(body.error, "invalid_notification");
  }
});
