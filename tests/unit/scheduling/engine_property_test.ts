// Seeded property tests over random calendars. Replay a failure with PROPERTY_SEED=<seed>
// (printed) and optionally PROPERTY_RUNS=<n>.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BusySource,
  type Interval,
  planSchedule,
  type ScheduleInput,
  type ScheduleResult,
  type Session,
  type TimeRange,
} from "../../../supabase/functions/_shared/scheduling/mod.ts";
import {
  DAY,
  HOUR,
  insideSome,
  MIN,
  overlaps,
  propertyRuns,
  propertySeed,
  referenceWindows,
  utc,
} from "./_helpers.ts";

const SEED = propertySeed(20260308);
const RUNS = propertyRuns(150);
const BASE = utc("2026-01-01T00:00:00Z");

const zoneArb = fc.constantFrom(
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
  "America/Sao_Paulo",
);

const hm = (m: number) =>
  `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
const rangeArb: fc.Arbitrary<TimeRange> = fc.tuple(
  fc.integer({ min: 0, max: 47 }),
  fc.integer({ min: 1, max: 20 }),
).map(([s, len]) => ({ start: hm(s * 30), end: hm(Math.min(1440, (s + len) * 30)) }));
const dayArb = fc.array(rangeArb, { maxLength: 2 });
const hoursArb = fc.record({
  mon: dayArb,
  tue: dayArb,
  wed: dayArb,
  thu: dayArb,
  fri: dayArb,
  sat: dayArb,
  sun: dayArb,
});

const sessionSpecArb = fc.record({
  duration: fc.integer({ min: 1, max: 48 }).map((q) => q * 5),
  limits: fc.option(
    fc.tuple(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 0, max: 12 })).map(([a, b]) => ({
      min: a * 5,
      max: (a + b) * 5,
    })),
    { freq: 3 },
  ),
  earliestH: fc.option(fc.integer({ min: -24, max: 24 * 10 }), { freq: 4 }),
  deadlineH: fc.option(fc.integer({ min: -12, max: 24 * 14 }), { freq: 3 }),
  priority: fc.integer({ min: 1, max: 4 }),
  lockedRoll: fc.integer({ min: 0, max: 9 }),
  planStartH: fc.option(fc.integer({ min: -6, max: 24 * 10 }), { freq: 2 }),
  planMinute: fc.integer({ min: 0, max: 11 }).map((q) => q * 5),
  done: fc.integer({ min: 0, max: 19 }),
});

const inputArb: fc.Arbitrary<ScheduleInput> = fc.record({
  tz: zoneArb,
  hours: hoursArb,
  nowMin: fc.integer({ min: 0, max: 365 * 24 * 60 }),
  nowMs: fc.integer({ min: 0, max: 59_999 }),
  before: fc.integer({ min: 0, max: 30 }),
  after: fc.integer({ min: 0, max: 30 }),
  freeze: fc.integer({ min: 0, max: 24 }),
  horizon: fc.integer({ min: 1, max: 10 }),
  granularity: fc.constantFrom(1, 5, 15),
  busy: fc.array(
    fc.tuple(fc.integer({ min: -24 * 60, max: 11 * 24 * 60 }), fc.integer({ min: 1, max: 240 })),
    { maxLength: 60 },
  ),
  sessions: fc.array(sessionSpecArb, { maxLength: 14 }),
}).map((r) => {
  const now = BASE + r.nowMin * MIN + r.nowMs;
  const busy: BusySource[] = r.busy.map(([off, len], i) => ({
    source: i % 3 === 0 ? "calendly" : "google",
    id: `e${i}`,
    start: now + off * MIN,
    end: now + (off + len) * MIN,
  }));
  const sessions: Session[] = r.sessions.map((s, i) => {
    const hourGrid = Math.floor(now / HOUR) * HOUR;
    const blocks = s.planStartH === null ? [] : [{
      start: hourGrid + s.planStartH * HOUR + s.planMinute * MIN,
      end: hourGrid + s.planStartH * HOUR + s.planMinute * MIN + s.duration * MIN,
    }];
    return {
      id: `s${String(i).padStart(2, "0")}`,
      title: `session ${i}`,
      duration_minutes: s.duration,
      min_block_minutes: s.limits?.min ?? null,
      max_block_minutes: s.limits?.max ?? null,
      earliest_start: s.earliestH === null ? null : now + s.earliestH * HOUR,
      deadline: s.deadlineH === null ? null : now + s.deadlineH * HOUR,
      priority: s.priority,
      locked: s.lockedRoll === 0,
      status: s.done === 0
        ? "done"
        : s.done === 1
        ? "cancelled"
        : blocks.length
        ? "scheduled"
        : "unscheduled",
      blocks,
    };
  });
  return {
    now,
    preferences: {
      time_zone: r.tz,
      working_hours: r.hours,
      buffer_before_minutes: r.before,
      buffer_after_minutes: r.after,
      freeze_hours: r.freeze,
      horizon_days: r.horizon,
      tentative_is_busy: true,
      granularity_minutes: r.granularity,
    },
    busy,
    sessions,
  };
});

/** Sessions that must not move: locked with blocks, or a block starting before now + freeze. */
function fixedIds(inp: ScheduleInput): Set<string> {
  const freezeEnd = inp.now + inp.preferences.freeze_hours * HOUR;
  const out = new Set<string>();
  for (const s of inp.sessions) {
    if (s.status === "done" || s.status === "cancelled" || s.blocks.length === 0) continue;
    if (s.locked || s.blocks.some((b) => b.start < freezeEnd)) out.add(s.id);
  }
  return out;
}

/** Feeds a result back as the stored plan. */
function withPlan(inp: ScheduleInput, res: ScheduleResult): ScheduleInput {
  const byId = new Map(res.sessions.map((s) => [s.id, s]));
  return {
    ...inp,
    sessions: inp.sessions.map((s) => {
      const r = byId.get(s.id);
      if (!r) return s;
      return { ...s, status: r.status, blocks: r.blocks.map(({ start, end }) => ({ start, end })) };
    }),
  };
}

function checkInvariants(inp: ScheduleInput, res: ScheduleResult): void {
  const p = inp.preferences;
  const fixed = fixedIds(inp);
  const freezeEnd = inp.now + p.freeze_hours * HOUR;
  const horizonEnd = inp.now + p.horizon_days * DAY;
  const windows = referenceWindows(p.time_zone, p.working_hours, freezeEnd, horizonEnd);
  const widened: Interval[] = inp.busy.map((b) => ({
    start: b.start - p.buffer_before_minutes * MIN,
    end: b.end + p.buffer_after_minutes * MIN,
  }));
  const sessions = new Map(inp.sessions.map((s) => [s.id, s]));
  const active = inp.sessions.filter((s) => s.status !== "done" && s.status !== "cancelled");
  assert.deepEqual(res.sessions.map((s) => s.id), active.map((s) => s.id).sort());

  const all: { id: string; iv: Interval }[] = [];
  for (const r of res.sessions) {
    const s = sessions.get(r.id)!;
    for (const b of r.blocks) all.push({ id: r.id, iv: b });
    if (r.action === "unscheduled") {
      assert.equal(r.blocks.length, 0);
      assert.ok(r.reason, `${r.id} unscheduled without reason`);
      assert.ok(res.unscheduled.some((u) => u.id === r.id && u.reason === r.reason));
      continue;
    }
    if (fixed.has(r.id)) {
      assert.equal(r.action, "kept", `fixed ${r.id} must be kept`);
      const orig = [...s.blocks].sort((a, b) => a.start - b.start);
      assert.deepEqual(r.blocks.map(({ start, end }) => ({ start, end })), orig);
      continue;
    }
    let total = 0;
    for (const b of r.blocks) {
      total += b.end - b.start;
      assert.ok(b.start >= freezeEnd, `${r.id} starts inside the freeze window`);
      assert.ok(insideSome(b, windows), `${r.id} block outside working hours`);
      for (const w of widened) assert.ok(!overlaps(b, w), `${r.id} overlaps busy`);
      if (s.earliest_start != null) assert.ok(b.start >= s.earliest_start);
      if (s.deadline != null) assert.ok(b.end <= s.deadline);
      if (s.min_block_minutes != null || s.max_block_minutes != null) {
        const max = s.max_block_minutes ?? s.duration_minutes;
        const min = Math.min(s.min_block_minutes ?? 15, max, s.duration_minutes);
        assert.ok(
          b.end - b.start >= min * MIN && b.end - b.start <= max * MIN,
          `${r.id} block size`,
        );
      } else {
        assert.equal(r.blocks.length, 1);
      }
    }
    assert.equal(total, s.duration_minutes * MIN, `${r.id} total length`);
  }
  // No two session blocks overlap, except between two fixed sessions (their input may be garbage).
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      if (all[i].id === all[j].id || (fixed.has(all[i].id) && fixed.has(all[j].id))) {
        if (all[i].id === all[j].id && !fixed.has(all[i].id)) {
          assert.ok(!overlaps(all[i].iv, all[j].iv));
        }
        continue;
      }
      assert.ok(!overlaps(all[i].iv, all[j].iv), `${all[i].id} overlaps ${all[j].id}`);
    }
  }
  const count = (a: string) => res.sessions.filter((s) => s.action === a).length;
  assert.equal(res.kept, count("kept"));
  assert.equal(res.moved, count("moved"));
  assert.equal(res.placed, count("placed"));
  assert.equal(res.unscheduled.length, count("unscheduled"));
}

Deno.test("property: placed blocks respect busy, buffers, hours, freeze, bounds, length, no overlap", () => {
  const actions: Record<string, number> = { kept: 0, moved: 0, placed: 0, unscheduled: 0 };
  fc.assert(
    fc.property(inputArb, (inp) => {
      const res = planSchedule(inp);
      checkInvariants(inp, res);
      for (const s of res.sessions) actions[s.action]++;
    }),
    { seed: SEED, numRuns: RUNS },
  );
  console.log("actions over all runs:", actions);
  // the generator must exercise every outcome
  for (const a of Object.keys(actions)) assert.ok(actions[a] > 0, `no "${a}" outcome generated`);
});

Deno.test("property: deterministic — same input, identical output (also with shuffled arrays)", () => {
  fc.assert(
    fc.property(inputArb, (inp) => {
      const a = planSchedule(inp);
      assert.deepEqual(planSchedule(structuredClone(inp)), a);
      const shuffled = {
        ...inp,
        busy: [...inp.busy].reverse(),
        sessions: [...inp.sessions].reverse(),
      };
      assert.deepEqual(planSchedule(shuffled), a);
    }),
    { seed: SEED + 1, numRuns: RUNS },
  );
});

Deno.test("property: idempotent — re-running on the output moves nothing and diffs nothing", () => {
  fc.assert(
    fc.property(inputArb, (inp) => {
      const first = planSchedule(inp);
      const second = planSchedule(withPlan(inp, first));
      assert.equal(second.moved, 0);
      assert.equal(second.placed, 0);
      assert.deepEqual(second.diff, { upserts: [], deletes: [] });
      assert.deepEqual(second.sessions.map((s) => s.blocks), first.sessions.map((s) => s.blocks));
      assert.deepEqual(second.unscheduled, first.unscheduled);
    }),
    { seed: SEED + 2, numRuns: RUNS },
  );
});

Deno.test("property: one new event overlapping exactly one movable session moves only that one", () => {
  let exercised = 0;
  fc.assert(
    fc.property(inputArb, fc.nat(), fc.nat(), (inp, pick, offsetPick) => {
      const stable = withPlan(inp, planSchedule(inp));
      const base = planSchedule(stable);
      const p = inp.preferences;
      const freezeEnd = inp.now + p.freeze_hours * HOUR;
      const fixed = fixedIds(stable);
      const candidates = base.sessions.filter((s) =>
        s.blocks.length > 0 && !fixed.has(s.id) && s.blocks.every((b) => b.start >= freezeEnd)
      );
      if (candidates.length === 0) return;
      const target = candidates[pick % candidates.length];
      const blk = target.blocks[offsetPick % target.blocks.length];
      const start = blk.start +
        ((offsetPick >> 3) % Math.max(1, (blk.end - blk.start) / MIN)) * MIN;
      const ev: BusySource = {
        source: "google",
        id: "new",
        start,
        end: Math.min(start + 15 * MIN, blk.end),
      };
      const widened = {
        start: ev.start - p.buffer_before_minutes * MIN,
        end: ev.end + p.buffer_after_minutes * MIN,
      };
      const hits = base.sessions.filter((s) => s.blocks.some((b) => overlaps(b, widened)));
      if (hits.length !== 1 || hits[0].id !== target.id) return; // overlaps more than one session
      exercised++;
      const after = planSchedule({ ...stable, busy: [...stable.busy, ev] });
      checkInvariants({ ...stable, busy: [...stable.busy, ev] }, after);
      for (const s of after.sessions) {
        const before = base.sessions.find((b) => b.id === s.id)!;
        if (s.id === target.id) {
          assert.ok(
            s.action === "moved" || s.action === "unscheduled",
            `target ${s.id} ${s.action}`,
          );
        } else if (before.blocks.length > 0) {
          // every other scheduled session stays exactly where it was
          assert.equal(s.action, "kept", `${s.id} was ${s.action}`);
          assert.deepEqual(s.blocks, before.blocks);
        }
      }
      assert.ok(after.moved <= 1);
    }),
    { seed: SEED + 3, numRuns: RUNS },
  );
  assert.ok(exercised > RUNS / 5, `only ${exercised} runs exercised the property`);
});
