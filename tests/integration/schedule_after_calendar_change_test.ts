// Issue 4's end-to-end promise: a meeting added in Google Calendar on top of a session moves
// that session (and no other) through the push notification, the sync and recalculate-schedule,
// with no manual call; an identical notification afterwards writes nothing.
import assert from "node:assert/strict";
import { connectDb, createUser, eventually, stack } from "../../devkit/stack.ts";
import { calendarApi, connectGoogle, createGoogleAccount, emulator } from "../../devkit/google.ts";

const EVERY_DAY = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => [day, [
    { start: "08:00", end: "20:00" },
  ]]),
);

Deno.test("a meeting on a session moves that session through webhook → sync → recalculation", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "planner");
    const account = await createGoogleAccount(user);
    await sql`insert into public.scheduling_preferences (user_id, time_zone, working_hours,
        freeze_hours, horizon_days, buffer_before_minutes, buffer_after_minutes)
      values (${user.id}, 'UTC', ${sql.json(EVERY_DAY)}, 0, 7, 0, 0)`;
    for (const title of ["Deep work A", "Deep work B"]) {
      // Two hours out: a block that has started is frozen and would never move.
      await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
          earliest_start)
        values (${user.id}, ${title}, 60, 1, now() + interval '2 hours')`;
    }
    const setup = await connectGoogle(user, account);

    // The first plan, asked for by the user.
    const first = await fetch(stack.functionUrl("recalculate-schedule"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(first.status, 200, await first.clone().text());
    assert.equal((await first.json()).placed, 2);

    const blocksOf = () =>
      sql`select s.title, s.version, b.starts_at, b.ends_at from public.session_blocks b
        join public.sessions s on s.id = b.session_id where s.user_id = ${user.id}
        order by s.title, b.block_index`;
    const before = await blocksOf();
    const target = before.find((block) => block.title === "Deep work A")!;
    const [{ n: runsBefore }] = await sql`select count(*)::int as n from public.schedule_runs
      where user_id = ${user.id}`;

    // The user's colleague books a meeting right over "Deep work A", in Google Calendar.
    // Exactly A's block: half-open intervals, so a back-to-back neighbour is not touched.
    const meetingStart = target.starts_at.getTime();
    const meetingEnd = target.ends_at.getTime();
    const meeting = await calendarApi(account, "/events", {
      method: "POST",
      body: JSON.stringify({
        summary: "Design review",
        start: { dateTime: new Date(meetingStart).toISOString() },
        end: { dateTime: new Date(meetingEnd).toISOString() },
      }),
    });
    assert.equal(meeting.status, 200);
    await meeting.body?.cancel();

    const run = await eventually(async () => {
      const [row] = await sql`select trigger, moved, kept from public.schedule_runs
        where user_id = ${user.id} and trigger = 'calendar_change'`;
      return row;
    }, { timeoutMs: 20_000, message: "a calendar_change recalculation" });
    assert.equal(run.moved, 1);
    assert.equal(run.kept, 1);

    const after = await blocksOf();
    const moved = after.find((block) => block.title === "Deep work A")!;
    const untouched = after.find((block) => block.title === "Deep work B")!;
    const stayed = before.find((block) => block.title === "Deep work B")!;
    assert.equal(untouched.starts_at.getTime(), stayed.starts_at.getTime(), "B stays put");
    const overlaps = moved.starts_at.getTime() < meetingEnd &&
      moved.ends_at.getTime() > meetingStart;
    assert.ok(!overlaps, "A no longer overlaps the meeting");

    // The same notification again: the sync finds nothing new and nothing is written.
    const [{ n: runsAfter }] = await sql`select count(*)::int as n from public.schedule_runs
      where user_id = ${user.id}`;
    assert.equal(runsAfter, runsBefore + 1);
    const [stateBefore] = await sql`select t.last_synced_at from public.calendar_sync_state t
      join public.calendar_webhook_channels c on c.connection_id = t.connection_id
        and c.calendar_id = t.calendar_id
      where c.channel_id = ${setup.channel.id}`;
    await emulator(`/channels/${setup.channel.id}/notify`, { wait: true });
    await eventually(async () => {
      const [state] = await sql`select t.last_synced_at, t.claim_token, t.needs_sync
        from public.calendar_webhook_channels c join public.calendar_sync_state t
          on t.connection_id = c.connection_id and t.calendar_id = c.calendar_id
        where c.channel_id = ${setup.channel.id}`;
      return state.last_synced_at > stateBefore.last_synced_at &&
        state.claim_token === null && !state.needs_sync;
    }, { message: "the second notification's sync" });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [{ n: runsFinal }] = await sql`select count(*)::int as n from public.schedule_runs
      where user_id = ${user.id}`;
    assert.equal(runsFinal, runsAfter, "no new schedule run");
    const final = await blocksOf();
    assert.deepEqual(
      final.map((block) => [block.title, block.version, block.starts_at.getTime()]),
      after.map((block) => [block.title, block.version, block.starts_at.getTime()]),
      "no session or block changed",
    );
  } finally {
    await sql.end();
  }
});
