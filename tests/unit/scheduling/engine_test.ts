import assert from "node:assert/strict";
import {
  planSchedule,
  ScheduleInputError,
} from "../../../supabase/functions/_shared/scheduling/mod.ts";
import { DAY, HOUR, input, MIN, MONDAY_8, prefs, session, utc } from "./_helpers.ts";

const at = (hhmm: string, day = "2026-03-02") => utc(`${day}T${hhmm}:00Z`);
const busy = (id: string, start: number, end: number) => ({ source: "google", id, start, end });
const blocksOf = (r: ReturnType<typeof planSchedule>, id: string) =>
  r.sessions.find((s) => s.id === id)!.blocks.map((b) => [b.start, b.end]);
const one = (r: ReturnType<typeof planSchedule>, id: string) =>
  r.sessions.find((s) => s.id === id)!;

Deno.test("places a new session at the earliest working time after now", () => {
  const r = planSchedule(input({ sessions: [session("a")] }));
  assert.deepEqual(blocksOf(r, "a"), [[at("09:00"), at("10:00")]]);
  assert.equal(one(r, "a").action, "placed");
  assert.equal(one(r, "a").status, "scheduled");
  assert.equal(r.placed, 1);
  assert.deepEqual(r.diff.deletes, []);
  assert.deepEqual(r.diff.upserts.map((b) => b.key), ["a:0"]);
});

Deno.test("overlapping busy 09–12 and 10–11 is merged: nothing placed at 11:00", () => {
  const r = planSchedule(input({
    busy: [busy("x", at("09:00"), at("12:00")), busy("y", at("10:00"), at("11:00"))],
    sessions: [session("a")],
  }));
  assert.deepEqual(blocksOf(r, "a"), [[at("12:00"), at("13:00")]]);
});

Deno.test("buffers widen external busy time only, not sessions", () => {
  const r = planSchedule(input({
    preferences: prefs({ buffer_before_minutes: 10, buffer_after_minutes: 15 }),
    busy: [busy("m", at("09:00"), at("10:00")), busy("n", at("12:00"), at("13:00"))],
    sessions: [
      session("a", { priority: 1 }),
      session("b", { priority: 2, duration_minutes: 90 }),
      session("c", { priority: 3 }),
    ],
  }));
  assert.deepEqual(blocksOf(r, "a"), [[at("10:15"), at("11:15")]]);
  // 11:15–11:50 is too short for 90 min; next is after 13:00 + 15.
  assert.deepEqual(blocksOf(r, "b"), [[at("13:15"), at("14:45")]]);
  // c fits back to back after a? 11:15 + 60 = 12:15 > 11:50 → no; after b, no buffer between sessions.
  assert.deepEqual(blocksOf(r, "c"), [[at("14:45"), at("15:45")]]);
});

Deno.test("priority, then earliest deadline (none last), then id decide placement order", () => {
  const r = planSchedule(input({
    sessions: [
      session("z", { priority: 1 }),
      session("b", { priority: 2 }),
      session("a", { priority: 2 }),
      session("d", { priority: 2, deadline: at("17:00", "2026-03-06") }),
    ],
  }));
  assert.deepEqual(blocksOf(r, "z"), [[at("09:00"), at("10:00")]]);
  assert.deepEqual(blocksOf(r, "d"), [[at("10:00"), at("11:00")]]);
  assert.deepEqual(blocksOf(r, "a"), [[at("11:00"), at("12:00")]]);
  assert.deepEqual(blocksOf(r, "b"), [[at("12:00"), at("13:00")]]);
});

Deno.test("still-valid sessions stay exactly where they are, even if a better slot exists", () => {
  const plan = [{ start: at("14:07"), end: at("15:07") }]; // unaligned, user-dragged
  const r = planSchedule(input({
    sessions: [session("a", { status: "scheduled", blocks: plan }), session("b", { priority: 1 })],
  }));
  assert.equal(one(r, "a").action, "kept");
  assert.deepEqual(blocksOf(r, "a"), [[at("14:07"), at("15:07")]]);
  assert.deepEqual(blocksOf(r, "b"), [[at("09:00"), at("10:00")]]);
  assert.deepEqual(r.diff.upserts.map((b) => b.key), ["b:0"]);
});

Deno.test("a new conflicting event moves only the conflicting session (one upsert, same key)", () => {
  const base = input({
    sessions: [
      session("a", { status: "scheduled", blocks: [{ start: at("09:00"), end: at("10:00") }] }),
      session("b", { status: "scheduled", blocks: [{ start: at("10:00"), end: at("11:00") }] }),
    ],
  });
  const r = planSchedule({ ...base, busy: [busy("new", at("10:30"), at("10:45"))] });
  assert.equal(one(r, "a").action, "kept");
  assert.equal(one(r, "b").action, "moved");
  assert.deepEqual(blocksOf(r, "b"), [[at("10:45"), at("11:45")]]);
  assert.equal(r.moved, 1);
  assert.deepEqual(r.diff.deletes, []);
  assert.deepEqual(r.diff.upserts.map((b) => [b.key, b.start]), [["b:0", at("10:45")]]);
});

Deno.test("locked sessions never move, count as busy (without buffers) for others", () => {
  const locked = session("L", {
    locked: true,
    status: "scheduled",
    blocks: [{ start: at("09:30"), end: at("10:30") }],
  });
  const r = planSchedule(input({
    preferences: prefs({ buffer_before_minutes: 30, buffer_after_minutes: 30 }),
    busy: [busy("m", at("10:00"), at("11:00"))], // overlaps the locked session: it still stays
    sessions: [locked, session("a", { priority: 1, duration_minutes: 30 })],
  }));
  assert.equal(one(r, "L").action, "kept");
  assert.deepEqual(blocksOf(r, "L"), [[at("09:30"), at("10:30")]]);
  assert.deepEqual(blocksOf(r, "a"), [[at("09:00"), at("09:30")]]); // before buffer of m is 09:30
  const r2 = planSchedule(input({ sessions: [session("L", { locked: true })] }));
  assert.deepEqual(r2.unscheduled, [{ id: "L", reason: "locked_without_blocks" }]);
});

Deno.test("frozen sessions (starting within now + freeze_hours) never move", () => {
  const frozenPlan = [{ start: at("10:00"), end: at("11:00") }];
  const laterPlan = [{ start: at("10:00", "2026-03-03"), end: at("11:00", "2026-03-03") }];
  const r = planSchedule(input({
    preferences: prefs({ freeze_hours: 12 }),
    busy: [
      busy("m1", at("10:15"), at("10:30")),
      busy("m2", at("10:15", "2026-03-03"), at("10:30", "2026-03-03")),
    ],
    sessions: [
      session("f", { status: "scheduled", blocks: frozenPlan }),
      session("g", { status: "scheduled", blocks: laterPlan }),
      session("n"),
    ],
  }));
  assert.equal(one(r, "f").action, "kept");
  assert.deepEqual(blocksOf(r, "f"), [[at("10:00"), at("11:00")]]);
  assert.equal(one(r, "g").action, "moved");
  // nothing new starts inside the freeze window (until 20:00 Monday): g (id before n) takes
  // Tuesday 09:00, n the next free hour after m2.
  assert.deepEqual(blocksOf(r, "g"), [[at("09:00", "2026-03-03"), at("10:00", "2026-03-03")]]);
  assert.deepEqual(blocksOf(r, "n"), [[at("10:30", "2026-03-03"), at("11:30", "2026-03-03")]]);
  // a session already in progress (started before now) is frozen even with freeze_hours = 0
  const r2 = planSchedule(input({
    now: at("09:30"),
    busy: [busy("m", at("09:40"), at("09:50"))],
    sessions: [
      session("p", { status: "scheduled", blocks: [{ start: at("09:00"), end: at("10:00") }] }),
    ],
  }));
  assert.equal(one(r2, "p").action, "kept");
});

Deno.test("splitting: blocks within [min, max], earliest first, last block never below min", () => {
  // free: 09:00–10:30, 11:00–17:00
  const r = planSchedule(input({
    busy: [busy("m", at("10:30"), at("11:00"))],
    sessions: [
      session("s", { duration_minutes: 150, min_block_minutes: 60, max_block_minutes: 120 }),
    ],
  }));
  // 90 first (120 doesn't fit before 10:30), remainder 60 ≥ min
  assert.deepEqual(blocksOf(r, "s"), [[at("09:00"), at("10:30")], [at("11:00"), at("12:00")]]);
  // greedy would take 120 then leave 30 < min: it takes 90 + 60 instead
  const r2 = planSchedule(input({
    sessions: [
      session("s", { duration_minutes: 150, min_block_minutes: 60, max_block_minutes: 120 }),
    ],
    busy: [busy("m", at("11:00"), at("12:00"))],
  }));
  assert.deepEqual(blocksOf(r2, "s"), [[at("09:00"), at("10:30")], [at("12:00"), at("13:00")]]);
  for (const b of one(r2, "s").blocks) assert.ok(b.end - b.start >= 60 * MIN);
});

Deno.test("all or nothing: a session that only partly fits is unscheduled and frees nothing", () => {
  const r = planSchedule(input({
    preferences: prefs({ horizon_days: 1 }),
    sessions: [
      session("big", {
        priority: 1,
        duration_minutes: 600,
        min_block_minutes: 60,
        max_block_minutes: 120,
      }),
      session("small", { priority: 2, duration_minutes: 60 }),
    ],
  }));
  assert.deepEqual(one(r, "big").blocks, []);
  assert.equal(one(r, "big").reason, "no_free_time_in_horizon");
  assert.deepEqual(blocksOf(r, "small"), [[at("09:00"), at("10:00")]]);
});

Deno.test("unschedulable sessions carry reasons and are never dropped", () => {
  const r = planSchedule(input({
    preferences: prefs({ horizon_days: 7 }),
    busy: [busy("wall", at("09:00"), at("17:00", "2026-03-03"))],
    sessions: [
      session("invalid", { duration_minutes: 0 }),
      session("frac", { duration_minutes: 12.5 }),
      session("badlimits", { min_block_minutes: 90, max_block_minutes: 30 }),
      session("unsplittable", {
        duration_minutes: 50,
        min_block_minutes: 30,
        max_block_minutes: 40,
      }),
      session("late", { deadline: MONDAY_8 - HOUR }),
      session("window", {
        earliest_start: at("12:00", "2026-03-04"),
        deadline: at("12:30", "2026-03-04"),
      }),
      session("far", { earliest_start: MONDAY_8 + 30 * DAY }),
      session("weekend", {
        earliest_start: at("00:00", "2026-03-07"),
        deadline: at("23:59", "2026-03-08"),
      }),
      session("tight", { deadline: at("17:00", "2026-03-03") }),
      session("huge", { duration_minutes: 8 * 60 * 6 }),
      session("fine", { priority: 9 }),
    ],
  }));
  const reasons = Object.fromEntries(r.unscheduled.map((u) => [u.id, u.reason]));
  assert.deepEqual(reasons, {
    invalid: "invalid_session",
    frac: "invalid_session",
    badlimits: "invalid_session",
    unsplittable: "block_limits_unsatisfiable",
    late: "deadline_passed",
    window: "earliest_start_after_deadline",
    far: "beyond_horizon",
    weekend: "no_working_hours",
    tight: "no_free_time_before_deadline",
    huge: "no_free_time_in_horizon",
  });
  assert.equal(r.sessions.length, 11);
  assert.equal(one(r, "fine").action, "placed");
  for (const s of r.sessions.filter((s) => s.action === "unscheduled")) {
    assert.equal(s.status, "unscheduled");
    assert.ok(s.reason);
  }
});

Deno.test("invalid stored plans are re-placed: wrong length, outside hours, overlapping, past deadline", () => {
  const r = planSchedule(input({
    sessions: [
      session("short", { status: "scheduled", blocks: [{ start: at("13:00"), end: at("13:30") }] }),
      session("night", { status: "scheduled", blocks: [{ start: at("20:00"), end: at("21:00") }] }),
      session("p1", {
        priority: 1,
        status: "scheduled",
        blocks: [{ start: at("14:00"), end: at("15:00") }],
      }),
      session("p2", {
        priority: 2,
        status: "scheduled",
        blocks: [{ start: at("14:30"), end: at("15:30") }],
      }),
      session("dl", {
        deadline: at("12:00", "2026-03-03"),
        status: "scheduled",
        blocks: [{ start: at("13:00", "2026-03-03"), end: at("14:00", "2026-03-03") }],
      }),
    ],
  }));
  assert.equal(one(r, "p1").action, "kept"); // the more important of two overlapping plans stays
  for (const id of ["short", "night", "p2", "dl"]) assert.equal(one(r, id).action, "moved", id);
});

Deno.test("diff: unchanged plan → empty; unscheduling deletes keys; shrinking deletes the tail", () => {
  const first = planSchedule(input({
    sessions: [
      session("a", { duration_minutes: 240, min_block_minutes: 60, max_block_minutes: 120 }),
      session("b"),
    ],
  }));
  const again = planSchedule(input({
    sessions: first.sessions.map((s) =>
      session(s.id, {
        duration_minutes: s.id === "a" ? 240 : 60,
        min_block_minutes: s.id === "a" ? 60 : null,
        max_block_minutes: s.id === "a" ? 120 : null,
        status: s.status,
        blocks: s.blocks.map(({ start, end }) => ({ start, end })),
      })
    ),
  }));
  assert.deepEqual(again.diff, { upserts: [], deletes: [] });
  assert.equal(again.kept, 2);
  // a no longer splittable (limits removed) → one 240-min block: a:0 upserted, a:1 deleted
  const a = first.sessions.find((s) => s.id === "a")!;
  const r = planSchedule(input({
    sessions: [session("a", { duration_minutes: 240, status: "scheduled", blocks: a.blocks })],
  }));
  assert.deepEqual(r.diff.deletes, ["a:1"]);
  assert.deepEqual(r.diff.upserts.map((b) => b.key), ["a:0"]);
  // deadline now passed → all keys deleted
  const r2 = planSchedule(input({
    now: at("18:00"),
    sessions: [
      session("b", {
        deadline: at("17:30"),
        status: "scheduled",
        blocks: [{ start: at("19:00"), end: at("20:00") }],
      }),
    ],
  }));
  assert.deepEqual(r2.diff, { upserts: [], deletes: ["b:0"] });
  assert.deepEqual(r2.unscheduled, [{ id: "b", reason: "deadline_passed" }]);
});

Deno.test("done and cancelled sessions are ignored (not busy, not in the result)", () => {
  const r = planSchedule(input({
    sessions: [
      session("d", { status: "done", blocks: [{ start: at("09:00"), end: at("10:00") }] }),
      session("c", { status: "cancelled", blocks: [{ start: at("09:00"), end: at("10:00") }] }),
      session("a"),
    ],
  }));
  assert.deepEqual(r.sessions.map((s) => s.id), ["a"]);
  assert.deepEqual(blocksOf(r, "a"), [[at("09:00"), at("10:00")]]);
  assert.deepEqual(r.diff.deletes, []);
});

Deno.test("new blocks start on the granularity grid even if now is unaligned", () => {
  const r = planSchedule(input({ now: at("10:02") + 17_123, sessions: [session("a")] }));
  assert.deepEqual(blocksOf(r, "a"), [[at("10:05"), at("11:05")]]);
  const r15 = planSchedule(input({
    now: at("10:02"),
    preferences: prefs({ granularity_minutes: 15 }),
    sessions: [session("a")],
  }));
  assert.deepEqual(blocksOf(r15, "a"), [[at("10:15"), at("11:15")]]);
});

Deno.test("DST: sessions in America/New_York land at the right instants around spring forward", () => {
  const r = planSchedule({
    now: utc("2026-03-06T20:00:00Z"), // Fri 15:00 EST
    preferences: prefs({
      time_zone: "America/New_York",
      working_hours: {
        fri: [{ start: "09:00", end: "16:00" }],
        mon: [{ start: "09:00", end: "17:00" }],
      },
    }),
    busy: [],
    sessions: [session("a", { duration_minutes: 60 }), session("b", { duration_minutes: 120 })],
  });
  assert.deepEqual(blocksOf(r, "a"), [[utc("2026-03-06T20:00:00Z"), utc("2026-03-06T21:00:00Z")]]);
  assert.deepEqual(blocksOf(r, "b"), [[utc("2026-03-09T13:00:00Z"), utc("2026-03-09T15:00:00Z")]]); // 09:00 EDT
});

Deno.test("structurally invalid input throws ScheduleInputError", () => {
  assert.throws(
    () => planSchedule(input({ preferences: prefs({ time_zone: "Mars/Olympus" }) })),
    ScheduleInputError,
  );
  assert.throws(
    () =>
      planSchedule(
        input({ preferences: prefs({ working_hours: { mon: [{ start: "9", end: "17:00" }] } }) }),
      ),
    ScheduleInputError,
  );
  assert.throws(
    () => planSchedule(input({ sessions: [session("a"), session("a")] })),
    ScheduleInputError,
  );
  assert.throws(
    () => planSchedule(input({ preferences: prefs({ granularity_minutes: 7 }) })),
    ScheduleInputError,
  );
  assert.throws(() => planSchedule(input({ now: NaN })), ScheduleInputError);
});
