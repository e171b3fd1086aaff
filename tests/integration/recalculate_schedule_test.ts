// recalculate-schedule through the gateway: busy time from calendar_events moves only the
// session it hits, identical input writes nothing, who may call it, bad input, the cron
// roll-forward, and concurrent calls for one user.
import assert from "node:assert/strict";
import {
  connectDb,
  createUser,
  eventually,
  type Sql,
  stack,
  type TestUser,
} from "../../devkit/stack.ts";

async function call(
  body: unknown,
  auth: { bearer?: string; cronSecret?: string } = { bearer: stack.serviceRoleKey },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = new Headers({ "content-type": "application/json" });
  if (auth.bearer) headers.set("authorization", `Bearer ${auth.bearer}`);
  if (auth.cronSecret) headers.set("x-cron-secret", auth.cronSecret);
  const response = await fetch(stack.functionUrl("recalculate-schedule"), {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** A user with no buffers or freeze (sessions sit back to back) and `n` one-hour sessions. */
async function userWithSessions(sql: Sql, label: string, n = 3): Promise<TestUser> {
  const user = await createUser(sql, label);
  await sql`insert into public.scheduling_preferences
    (user_id, time_zone, buffer_before_minutes, buffer_after_minutes, freeze_hours)
    values (${user.id}, 'UTC', 0, 0, 0)`;
  for (let i = 1; i <= n; i++) {
    await sql`insert into public.sessions (user_id, title, duration_minutes, priority)
      values (${user.id}, ${`session ${i}`}, 60, ${i})`;
  }
  return user;
}

async function plan(sql: Sql, userId: string) {
  return await sql`select s.id, s.title, s.status, s.version, b.block_key,
      b.starts_at, b.ends_at
    from public.sessions s left join public.session_blocks b on b.session_id = s.id
    where s.user_id = ${userId} order by s.title, b.block_index`;
}

async function runCount(sql: Sql, userId: string): Promise<number> {
  const [row] = await sql`select count(*)::int as n from public.schedule_runs
    where user_id = ${userId}`;
  return row.n;
}

Deno.test("a busy event over one session moves that session only; the same input writes nothing", async () => {
  const sql = connectDb();
  try {
    const user = await userWithSessions(sql, "mover");
    const placed = await call({ user_id: user.id, trigger: "calendar_change" });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    assert.equal(placed.body.placed, 3);
    assert.equal(typeof placed.body.run_id, "string");
    const before = await plan(sql, user.id);
    assert.equal(before.length, 3);
    assert.ok(before.every((row) => row.status === "scheduled" && row.block_key));

    // A meeting lands on session 2.
    const target = before.find((row) => row.title === "session 2")!;
    const [connection] = await sql`insert into public.calendar_connections
      (user_id, provider, external_account_id) values (${user.id}, 'google', ${user.email})
      returning id`;
    await sql`insert into public.calendar_events (provider, connection_id, user_id, calendar_id,
        external_id, summary, starts_at, ends_at, is_busy, is_tentative)
      values ('google', ${connection.id}, ${user.id}, 'primary', 'meeting-1', 'Meeting',
        ${target.starts_at}, ${new Date(target.starts_at.getTime() + 30 * 60_000)}, true, false)`;

    const moved = await call({ user_id: user.id, trigger: "calendar_change" });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.moved, 1);
    assert.equal(moved.body.kept, 2);
    assert.equal(moved.body.unchanged, false);
    assert.deepEqual(moved.body.unscheduled, []);
    const after = await plan(sql, user.id);
    for (const row of after) {
      const old = before.find((b) => b.id === row.id)!;
      if (row.title === "session 2") {
        assert.notEqual(row.starts_at.getTime(), old.starts_at.getTime(), "session 2 moved");
        assert.ok(
          row.starts_at >= new Date(target.starts_at.getTime() + 30 * 60_000) ||
            row.ends_at <= target.starts_at,
          "out of the meeting",
        );
      } else {
        assert.equal(row.starts_at.getTime(), old.starts_at.getTime(), `${row.title} stays`);
        assert.equal(row.version, old.version, `${row.title} is not even rewritten`);
      }
    }
    const [run] = await sql`select * from public.schedule_runs where id = ${
      String(moved.body.run_id)
    }`;
    assert.equal(run.trigger, "calendar_change");
    assert.equal(run.moved, 1);
    assert.equal(run.kept, 2);
    assert.equal(await runCount(sql, user.id), 2);

    // The same notification again: nothing is written.
    const again = await call({ user_id: user.id, trigger: "calendar_change" });
    assert.equal(again.status, 200);
    assert.equal(again.body.unchanged, true);
    assert.equal(again.body.run_id, null);
    assert.equal(await runCount(sql, user.id), 2, "no new schedule_runs row");
    assert.deepEqual(
      (await plan(sql, user.id)).map((r) => [r.id, r.version, r.starts_at.getTime()]),
      after.map((r) => [r.id, r.version, r.starts_at.getTime()]),
      "session versions and blocks unchanged",
    );
  } finally {
    await sql.end();
  }
});

Deno.test("who may call it, and bad input changes nothing", async () => {
  const sql = connectDb();
  try {
    const alice = await userWithSessions(sql, "alice", 1);
    const bob = await userWithSessions(sql, "bob", 1);

    const self = await call({}, { bearer: alice.jwt });
    assert.equal(self.status, 200, JSON.stringify(self.body));
    assert.equal(self.body.placed, 1);
    const [run] = await sql`select trigger from public.schedule_runs where user_id = ${alice.id}`;
    assert.equal(run.trigger, "manual");
    const selfById = await call({ user_id: alice.id }, { bearer: alice.jwt });
    assert.equal(selfById.status, 200);
    assert.equal(selfById.body.unchanged, true);

    const other = await call({ user_id: bob.id }, { bearer: alice.jwt });
    assert.equal(other.status, 403);
    const none = await call({ user_id: bob.id }, {});
    assert.equal(none.status, 401);
    const badCron = await call({ trigger: "roll_forward" }, {
      cronSecret: "not-the-secret-at-all",
    });
    assert.equal(badCron.status, 401);
    const anonKey = await call({ user_id: bob.id }, { bearer: stack.anonKey });
    assert.equal(anonKey.status, 401, "the anon key carries no identity");
    const forged = await call({ user_id: bob.id }, { bearer: "eyJhbGciOiJIUzI1NiJ9.e30.c2ln" });
    assert.equal(forged.status, 401);

    for (
      const body of [
        "{not json",
        { user_id: "not-a-uuid" },
        { user_id: bob.id, trigger: "whenever" },
        { user_id: bob.id, extra: 1 },
        { user_id: bob.id, force: "yes" },
        {}, // the service role must name a user
      ]
    ) {
      const bad = await call(body);
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const get = await fetch(stack.functionUrl("recalculate-schedule"), {
      headers: { authorization: `Bearer ${stack.serviceRoleKey}` },
    });
    assert.equal(get.status, 405);
    await get.body?.cancel();

    assert.equal(await runCount(sql, bob.id), 0, "bob was never planned");
    const [state] = await sql`select count(*)::int as n from public.schedule_recalc_state
      where user_id = ${bob.id}`;
    assert.equal(state.n, 0, "nothing was even requested for bob");
    const [session] = await sql`select status, version from public.sessions
      where user_id = ${bob.id}`;
    assert.deepEqual([session.status, Number(session.version)], ["unscheduled", 1]);
  } finally {
    await sql.end();
  }
});

Deno.test("the cron roll-forward plans every user due", async () => {
  const sql = connectDb();
  try {
    const users = [
      await userWithSessions(sql, "cron-a", 2),
      await userWithSessions(sql, "cron-b", 1),
    ];
    const accepted = await call({ trigger: "roll_forward" }, {
      cronSecret: "local-stack-cron-secret",
    });
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    for (const user of users) {
      const [run] = await eventually(async () => {
        const rows = await sql`select trigger, placed from public.schedule_runs
          where user_id = ${user.id}`;
        return rows.length > 0 ? rows : undefined;
      }, { message: `a roll-forward run for ${user.email}`, timeoutMs: 20_000 });
      assert.equal(run.trigger, "roll_forward");
    }
    const [stateA] = await sql`select last_local_date from public.schedule_recalc_state
      where user_id = ${users[0].id}`;
    assert.ok(stateA.last_local_date, "the local date of the plan is remembered");
    const due = await sql`select unnest(public.schedule_users_to_plan()) as id`;
    assert.ok(!due.some((row) => users.some((u) => u.id === row.id)), "no longer due today");
  } finally {
    await sql.end();
  }
});

Deno.test("concurrent calls for one user coalesce into one recalculation at a time", async () => {
  const sql = connectDb();
  try {
    const user = await userWithSessions(sql, "burst", 5);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => call({ user_id: user.id, trigger: "calendar_change" })),
    );
    const elapsed = performance.now() - started;
    const statuses = answers.map((a) => a.status).sort();
    assert.ok(statuses.every((s) => s === 200 || s === 202), JSON.stringify(statuses));
    const ran = answers.filter((a) => a.status === 200);
    const coalesced = answers.filter((a) => a.status === 202);
    assert.ok(ran.length >= 1);
    assert.ok(coalesced.every((a) => a.body.coalesced === true));
    const applied = ran.filter((a) => a.body.run_id !== null);
    assert.equal(applied.length, 1, "exactly one run placed the sessions");
    assert.equal(applied[0].body.placed, 5);
    assert.equal(await runCount(sql, user.id), 1);
    console.log(
      `10 concurrent calls: ${ran.length} ran, ${coalesced.length} coalesced, ` +
        `follow-ups ${ran.map((a) => a.body.follow_ups).join("+")}, ${elapsed.toFixed(0)} ms`,
    );

    // Consistent: every session placed once, no two blocks overlap, nothing left running.
    const rows = await plan(sql, user.id);
    assert.equal(rows.length, 5);
    const sorted = rows.map((r) => [r.starts_at.getTime(), r.ends_at.getTime()])
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++) assert.ok(sorted[i][0] >= sorted[i - 1][1]);
    const [state] = await sql`select needs_run, claim_token from public.schedule_recalc_state
      where user_id = ${user.id}`;
    assert.deepEqual([state.needs_run, state.claim_token], [false, null]);
    const after = await call({ user_id: user.id, trigger: "calendar_change" });
    assert.equal(after.body.unchanged, true);
  } finally {
    await sql.end();
  }
});
