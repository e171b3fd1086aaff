// Write-back end to end: a user's planned blocks become events in a "Planned sessions" calendar
// through the outbound queue; a meeting moves one block (one patch, nothing else); our own
// writes coming back change nothing; a person moving or deleting one of our events is the user
// speaking; conflicts; faults at Google converge without duplicates; a revoked token holds the
// queue until the user reconnects; a batch that died is written later, once.
import assert from "node:assert/strict";
import {
  connectDb,
  createUser,
  eventually,
  rest,
  type Sql,
  stack,
  type TestUser,
} from "../../devkit/stack.ts";
import {
  calendarApi,
  connectGoogle,
  createGoogleAccount,
  emulator,
  type GoogleAccount,
} from "../../devkit/google.ts";
import { planAroundTheClock, replan } from "../../devkit/planning.ts";

const HOUR = 3_600_000;

interface Planner {
  user: TestUser;
  account: GoogleAccount;
  connectionId: string;
}

async function plannerWithSessions(sql: Sql, label: string, sessions: number): Promise<Planner> {
  const user = await createUser(sql, label);
  const account = await createGoogleAccount(user);
  const setup = await connectGoogle(user, account);
  await planAroundTheClock(sql, user.id, { writeBack: true });
  for (let i = 0; i < sessions; i++) {
    await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
        earliest_start)
      values (${user.id}, ${"Session " + i}, 60, ${i}, ${new Date(Date.now() + 2 * HOUR)})`;
  }
  return { user, account, connectionId: setup.connection.id };
}

/** Until nothing of the user's waits in the queue. */
function drained(sql: Sql, userId: string, timeoutMs = 20_000) {
  return eventually(async () => {
    const [row] = await sql`select count(*) filter (where status in ('PENDING', 'PROCESSING'))::int
        as waiting, count(*)::int as total from public.outbound_queue where user_id = ${userId}`;
    return row.total > 0 && row.waiting === 0;
  }, { timeoutMs, message: "the outbound queue to drain" });
}

async function plannedCalendar(sql: Sql, connectionId: string): Promise<string> {
  const [row] = await sql`select settings ->> 'planned_calendar_id' as id
    from public.calendar_connections where id = ${connectionId}`;
  assert.ok(row.id, "a planned calendar was created");
  return row.id;
}

interface TruthEvent {
  id: string;
  summary?: string;
  status?: string;
  transparency?: string;
  attendees?: unknown[];
  etag: string;
  start: { dateTime: string };
  end: { dateTime: string };
  extendedProperties?: { private?: Record<string, string> };
}

async function taggedEvents(calendarId: string): Promise<TruthEvent[]> {
  const body = await emulator<{ items: TruthEvent[] }>(
    `/calendars/${encodeURIComponent(calendarId)}/events`,
  );
  return body.items.filter((event) => event.extendedProperties?.private?.calendarSyncApp);
}

async function blocks(sql: Sql, userId: string) {
  return await sql`select b.session_id, b.block_index, b.block_key, b.starts_at, b.ends_at,
      s.locked, s.status, s.version, s.earliest_start
    from public.session_blocks b join public.sessions s on s.id = b.session_id
    where b.user_id = ${userId} and s.status = 'scheduled' order by b.starts_at`;
}

function writes(counts: Record<string, number>) {
  return {
    insert: counts["events.insert"] ?? 0,
    patch: counts["events.patch"] ?? 0,
    delete: counts["events.delete"] ?? 0,
  };
}

/** The planned calendar holds exactly one tagged event per scheduled block, at its time. */
async function calendarMatchesPlan(sql: Sql, planner: Planner): Promise<boolean> {
  const calendarId = await plannedCalendar(sql, planner.connectionId);
  const [events, rows] = await Promise.all([
    taggedEvents(calendarId),
    blocks(sql, planner.user.id),
  ]);
  if (events.length !== rows.length) return false;
  const byTag = new Map(
    events.map((event) => [event.extendedProperties!.private!.calendarSyncApp, event]),
  );
  return rows.every((row) => {
    const event = byTag.get(row.block_key);
    return event && Date.parse(event.start.dateTime) === row.starts_at.getTime() &&
      Date.parse(event.end.dateTime) === row.ends_at.getTime();
  });
}

Deno.test("write-back: a Planned sessions calendar with one tagged, opaque event per block; an unchanged re-plan writes nothing", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-basic", 3);
    const planned = await replan(planner.user);
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    assert.equal(planned.body.placed, 3);
    await drained(sql, planner.user.id);
    const calendarId = await plannedCalendar(sql, planner.connectionId);
    const info = await emulator<{ summary: string }>(
      `/calendars/${encodeURIComponent(calendarId)}`,
    );
    assert.equal(info.summary, "Planned sessions");
    const events = await taggedEvents(calendarId);
    assert.equal(events.length, 3, "one event per block");
    for (const event of events) {
      assert.equal(event.transparency ?? "opaque", "opaque", "others see the time as busy");
      assert.equal(event.attendees?.length ?? 0, 0, "no attendees, no invitations");
    }
    assert.ok(await calendarMatchesPlan(sql, planner));

    await emulator("/counters/reset", {});
    const again = await replan(planner.user);
    assert.equal(again.body.unchanged, true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(
      writes((await emulator<{ counts: Record<string, number> }>("/counters")).counts),
      {
        insert: 0,
        patch: 0,
        delete: 0,
      },
    );
  } finally {
    await sql.end();
  }
});

Deno.test("a meeting landing on one session: exactly one patch for that block; our echoes change nothing", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-meeting", 3);
    await replan(planner.user);
    await drained(sql, planner.user.id);
    // Let the planned calendar's own notifications (our echoes) arrive and settle.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [{ runs }] = await sql`select count(*)::int as runs from public.schedule_runs
      where user_id = ${planner.user.id}`;
    assert.equal(runs, 1, "our own writes caused no recalculation run");
    const before = await blocks(sql, planner.user.id);
    assert.deepEqual(
      (await sql`select count(*)::int as n from public.busy_intervals where user_id = ${planner.user.id}`)[
        0
      ].n,
      0,
      "our events are not busy time for the planner",
    );

    await emulator("/counters/reset", {});
    const target = before[1];
    const meeting = await calendarApi(planner.account, "/events", {
      method: "POST",
      body: JSON.stringify({
        summary: "Meeting",
        start: { dateTime: target.starts_at.toISOString() },
        end: { dateTime: new Date(target.starts_at.getTime() + HOUR / 2).toISOString() },
      }),
    });
    await meeting.body?.cancel();
    await eventually(async () => {
      const now = await blocks(sql, planner.user.id);
      const moved = now.find((row) => row.block_key === target.block_key);
      return moved && moved.starts_at.getTime() !== target.starts_at.getTime();
    }, { message: "the session moving" });
    await drained(sql, planner.user.id);
    await eventually(() => calendarMatchesPlan(sql, planner), {
      message: "the calendar following",
    });
    const counts = writes((await emulator<{ counts: Record<string, number> }>("/counters")).counts);
    assert.deepEqual(
      { ...counts, insert: counts.insert - 1 },
      { insert: 0, patch: 1, delete: 0 },
      "the meeting itself, then exactly one patch for the moved block",
    );
    const after = await blocks(sql, planner.user.id);
    for (const row of after) {
      if (row.block_key === target.block_key) continue;
      const old = before.find((b) => b.block_key === row.block_key)!;
      assert.equal(row.version, old.version, "the other sessions did not change");
    }
  } finally {
    await sql.end();
  }
});

Deno.test("a person moving our event locks the session there; deleting it plans the session after it", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-human", 2);
    await replan(planner.user);
    await drained(sql, planner.user.id);
    const calendarId = await plannedCalendar(sql, planner.connectionId);
    const [first, second] = await blocks(sql, planner.user.id);
    const [link] = await sql`select external_id from public.write_back_links
      where block_key = ${first.block_key}`;
    const moveTo = new Date(first.starts_at.getTime() + 30 * HOUR);
    const moved = await calendarApi(
      { ...planner.account, calendar_id: calendarId },
      `/events/${link.external_id}`,
      {
        method: "PATCH",
        body: JSON.stringify({
          start: { dateTime: moveTo.toISOString() },
          end: { dateTime: new Date(moveTo.getTime() + HOUR).toISOString() },
        }),
      },
    );
    assert.equal(moved.status, 200, await moved.text());
    const locked = await eventually(async () => {
      const [row] = await sql`select b.starts_at, s.locked from public.session_blocks b
        join public.sessions s on s.id = b.session_id where b.block_key = ${first.block_key}`;
      return row.locked && row.starts_at.getTime() === moveTo.getTime() ? row : null;
    }, { message: "the session locked at the new time" });
    assert.equal(locked.locked, true);

    const [secondLink] = await sql`select external_id from public.write_back_links
      where block_key = ${second.block_key}`;
    const deleted = await calendarApi(
      { ...planner.account, calendar_id: calendarId },
      `/events/${secondLink.external_id}`,
      { method: "DELETE" },
    );
    await deleted.body?.cancel();
    const replanned = await eventually(async () => {
      const [row] = await sql`select b.starts_at, s.earliest_start, s.status, s.unscheduled_reason
        from public.sessions s left join public.session_blocks b on b.session_id = s.id
        where s.id = ${second.session_id}`;
      return row.earliest_start?.getTime() === second.ends_at.getTime() &&
          (row.status === "unscheduled" || row.starts_at >= second.ends_at)
        ? row
        : null;
    }, { message: "the session planned after the deleted block" });
    assert.ok(
      replanned.status === "unscheduled" ? replanned.unscheduled_reason : replanned.starts_at,
    );
    await drained(sql, planner.user.id);
    await eventually(() => calendarMatchesPlan(sql, planner), {
      message: "no duplicate after re-creating",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("both sides changed a block: the later change wins and a conflict row says so", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-conflict", 1);
    await replan(planner.user);
    await drained(sql, planner.user.id);
    const calendarId = await plannedCalendar(sql, planner.connectionId);
    const [block] = await blocks(sql, planner.user.id);
    const [link] = await sql`select external_id from public.write_back_links
      where block_key = ${block.block_key}`;
    // The app's change cannot reach Google for now (every patch of ours, sent with If-Match,
    // fails; the person's own edit below carries none and goes through)…
    await emulator("/faults", {
      operation: "events.patch",
      ifMatch: true,
      status: 503,
      times: 1000,
    });
    const appTime = new Date(block.starts_at.getTime() + 3 * HOUR);
    await sql`update public.session_blocks set starts_at = ${appTime},
        ends_at = ${new Date(appTime.getTime() + HOUR)}
      where block_key = ${block.block_key}`;
    await eventually(
      async () =>
        (await sql`select attempts from public.outbound_queue where target_key = ${block.block_key}
        and status = 'PENDING' and attempts > 0`).length > 0,
      // The client retries a 503 with backoff (about 4 s) before the queue records an attempt.
      { timeoutMs: 20_000, message: "the app's write failing" },
    );
    // …and then a person moves the same event, later than the app's change, while the app's
    // write still waits (were it retried and written first, there would be nothing to decide).
    const personTime = new Date(block.starts_at.getTime() + 6 * HOUR);
    const moved = await calendarApi(
      { ...planner.account, calendar_id: calendarId },
      `/events/${link.external_id}`,
      {
        method: "PATCH",
        body: JSON.stringify({
          start: { dateTime: personTime.toISOString() },
          end: { dateTime: new Date(personTime.getTime() + HOUR).toISOString() },
        }),
      },
    );
    await moved.body?.cancel();
    const conflict = await eventually(async () => {
      const [row] = await sql`select winner, reason, app_version, provider_version
        from public.sync_conflicts where user_id = ${planner.user.id}`;
      return row;
    }, { message: "the conflict row" });
    assert.equal(conflict.winner, "provider");
    assert.match(conflict.reason, /calendar's change is later/);
    assert.equal(Date.parse(conflict.app_version.starts_at), appTime.getTime());
    assert.equal(Date.parse(conflict.provider_version.starts_at), personTime.getTime());
    const [after] = await blocks(sql, planner.user.id);
    assert.equal(after.starts_at.getTime(), personTime.getTime(), "the later change won");
    assert.equal(after.locked, true);
  } finally {
    await emulator("/faults", undefined, "DELETE");
    await sql.end();
  }
});

Deno.test("faults on Google's writes converge to the plan with no duplicate events", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-faults", 6);
    await emulator("/faults", {
      rules: [
        { operation: "events.insert", status: 503, times: 2 },
        { operation: "events.insert", status: 429, times: 1, retryAfterSeconds: 1 },
        { operation: "events.insert", status: 403, reason: "rateLimitExceeded", times: 1 },
        // The write reaches Google, the answer is lost: a retried insert must not duplicate.
        { operation: "events.insert", status: 503, after: true, times: 2 },
        { operation: "events.insert", status: 0, after: true, times: 1 },
      ],
    });
    await emulator("/latency", { ms: 50 });
    await replan(planner.user);
    await drained(sql, planner.user.id, 40_000);
    await emulator("/latency", { ms: 0 });
    await emulator("/faults", undefined, "DELETE");
    assert.ok(await calendarMatchesPlan(sql, planner), "one event per block, at its time");

    // A 412 (someone else's write in between) on a move: re-read, and converge.
    await emulator("/faults", { operation: "events.patch", status: 412, times: 1 });
    const [first] = await blocks(sql, planner.user.id);
    const later = new Date(first.starts_at.getTime() + 20 * HOUR);
    await sql`update public.session_blocks set starts_at = ${later},
      ends_at = ${new Date(later.getTime() + HOUR)} where block_key = ${first.block_key}`;
    await drained(sql, planner.user.id);
    assert.ok(await calendarMatchesPlan(sql, planner));
    const failed = await sql`select last_error from public.outbound_queue
      where user_id = ${planner.user.id} and status = 'FAILED'`;
    assert.equal(failed.length, 0, JSON.stringify(failed));
  } finally {
    await emulator("/faults", undefined, "DELETE");
    await emulator("/latency", { ms: 0 });
    await sql.end();
  }
});

Deno.test("a batch that died is written later, once", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-crash", 3);
    // The processor never runs for now: its claims are taken here and "die".
    await sql`update public.scheduling_preferences set write_back_enabled = false
      where user_id = ${planner.user.id}`;
    await replan(planner.user);
    // Turning write-back on queues every block; a processor claims the batch in that same
    // transaction and is killed. (The kick is suppressed: the processor it would start is the
    // one that "died".)
    const claimed = await sql.begin(async (tx) => {
      await tx`select set_config('app.outbound_kicked', 'yes', true)`;
      await tx`update public.scheduling_preferences set write_back_enabled = true
        where user_id = ${planner.user.id}`;
      const [row] = await tx`select public.outbound_claim(100, 120) as items`;
      return row.items as unknown[];
    });
    assert.equal(claimed.length, 3, "a batch was claimed, then its processor was killed");
    await sql`update public.app_clock set offset_interval = interval '3 minutes'`;
    const answer = await fetch(stack.functionUrl("process-outbound-queue"), {
      method: "POST",
      headers: {
        authorization: `Bearer ${stack.serviceRoleKey}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ trigger: "manual", wait: true }),
    });
    const report = await answer.json();
    assert.equal(answer.status, 200, JSON.stringify(report));
    assert.ok(await calendarMatchesPlan(sql, planner), "written once each");
  } finally {
    await sql`update public.app_clock set offset_interval = '0'`;
    await sql.end();
  }
});

Deno.test("a revoked token holds the writes and marks needs_reauth; reconnecting writes them", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-revoked", 2);
    await replan(planner.user);
    await drained(sql, planner.user.id);
    await emulator("/refresh_tokens/revoke", { refresh_token: planner.account.refresh_token });
    await emulator("/access_tokens/expire", {});
    const [block] = await blocks(sql, planner.user.id);
    const later = new Date(block.starts_at.getTime() + 24 * HOUR);
    await sql`update public.session_blocks set starts_at = ${later},
      ends_at = ${new Date(later.getTime() + HOUR)} where block_key = ${block.block_key}`;
    const held = await eventually(async () => {
      const rows = await sql`select status from public.outbound_queue
        where user_id = ${planner.user.id} and status = 'HELD'`;
      return rows.length > 0 ? rows : null;
    }, { message: "the write held" });
    assert.equal(held.length, 1);
    const [connection] = await sql`select status from public.calendar_connections
      where id = ${planner.connectionId}`;
    assert.equal(connection.status, "needs_reauth");

    const fresh = await createGoogleAccount(planner.user); // a new refresh token, same account
    await connectGoogle(planner.user, fresh);
    await drained(sql, planner.user.id);
    await eventually(() => calendarMatchesPlan(sql, planner), {
      message: "the held write applied",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("queue statistics: each user reads their own row", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "wb-stats", 1);
    await replan(planner.user);
    await drained(sql, planner.user.id);
    const response = await rest(
      "/outbound_queue_stats?select=user_id,pending,completed,failed,oldest_pending_age_ms",
      {
        jwt: planner.user.jwt,
      },
    );
    const rows = await response.json();
    assert.equal(response.status, 200, JSON.stringify(rows));
    assert.equal(rows.length, 1);
    assert.equal(rows[0].user_id, planner.user.id);
    assert.ok(rows[0].completed >= 1);
    assert.equal(rows[0].pending, 0);
  } finally {
    await sql.end();
  }
});
