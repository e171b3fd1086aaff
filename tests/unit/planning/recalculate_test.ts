// The planning job against the in-memory store: idempotency, the hash, coalescing, optimistic
// concurrency, the roll-forward and the sweep of unserved marks, without a database.
import assert from "node:assert/strict";
import type { Clock } from "../../../supabase/functions/_shared/clock.ts";
import {
  RecalcConflictError,
  recalculateAll,
  recalculateUser,
  serveUnservedMarks,
} from "../../../supabase/functions/_shared/planning/recalculate.ts";
import {
  canonicalHashJson,
  scheduleInputHash,
} from "../../../supabase/functions/_shared/planning/input_hash.ts";
import { DEFAULT_PREFERENCES } from "../../../supabase/functions/_shared/planning/inputs.ts";
import type {
  ScheduleStore,
  StoredSession,
} from "../../../supabase/functions/_shared/planning/store.ts";
import { MemoryScheduleStore } from "../../../supabase/functions/_shared/planning/store_memory.ts";
import { ScheduleInputError } from "../../../supabase/functions/_shared/scheduling/types.ts";
import { HOUR, MIN, utc } from "../scheduling/_helpers.ts";

/** Monday 2026-03-02 06:00Z: with the default 12 h freeze, new work starts Tuesday. */
const MONDAY_6 = utc("2026-03-02T06:00:00Z");
const at = (iso: string) => utc(iso);

function fixedClock(now: number): Clock & { set(t: number): void } {
  let t = now;
  return { now: () => t, monotonic: () => 0, set: (v) => (t = v) };
}

function storedSession(id: string, over: Partial<StoredSession> = {}): StoredSession {
  return {
    id,
    title: id,
    duration_minutes: 60,
    min_block_minutes: null,
    max_block_minutes: null,
    earliest_start: null,
    deadline: null,
    priority: 2,
    locked: false,
    status: "unscheduled",
    unscheduled_reason: null,
    version: 1,
    blocks: [],
    ...over,
  };
}

class FakeStore extends MemoryScheduleStore {}

const blocksOf = (store: FakeStore, id: string) =>
  store.sessions.get(id)!.blocks.map((b) => [new Date(b.start).toISOString(), b.index]);

Deno.test("places new sessions, then an identical second call writes nothing", async () => {
  const store = new FakeStore([storedSession("a"), storedSession("b", { priority: 1 })]);
  const clock = fixedClock(MONDAY_6);
  const first = await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  assert.ok(!first.coalesced);
  assert.equal(first.placed, 2);
  assert.equal(first.unchanged, false);
  assert.equal(first.run_id, "run-1");
  // Default prefs: 12 h freeze → 18:00 Monday; next working time Tuesday 09:00 UTC.
  assert.deepEqual(blocksOf(store, "b"), [["2026-03-03T09:00:00.000Z", 0]]);
  assert.deepEqual(blocksOf(store, "a"), [["2026-03-03T10:00:00.000Z", 0]]);
  assert.equal(store.runs[0]!.trigger, "manual");

  clock.set(MONDAY_6 + 3 * HOUR); // same local day
  const versions = [...store.sessions.values()].map((s) => s.version);
  const second = await recalculateUser({ store, clock }, "u1", { trigger: "calendar_change" });
  assert.ok(!second.coalesced);
  assert.equal(second.unchanged, true);
  assert.equal(second.run_id, null);
  assert.equal(second.kept, 2);
  assert.equal(store.applies.length, 1, "no apply call at all");
  assert.equal(store.runs.length, 1);
  assert.deepEqual([...store.sessions.values()].map((s) => s.version), versions);
});

Deno.test("a busy event over one session moves that session and no other", async () => {
  const store = new FakeStore([
    storedSession("a", { priority: 1 }),
    storedSession("b"),
    storedSession("c", { priority: 3 }),
  ]);
  // Without buffers: the sessions sit back to back, and a buffer would touch the neighbours.
  store.preferences = {
    ...DEFAULT_PREFERENCES,
    buffer_before_minutes: 0,
    buffer_after_minutes: 0,
    updated_at: "x",
  };
  const clock = fixedClock(MONDAY_6);
  await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  const before = new Map([...store.sessions.values()].map((s) => [s.id, s.blocks[0].start]));
  store.busy.push({
    source: "google",
    id: "ev1",
    start: before.get("b")!,
    end: before.get("b")! + 30 * MIN,
    tentative: false,
  });
  const out = await recalculateUser({ store, clock }, "u1", { trigger: "calendar_change" });
  assert.ok(!out.coalesced);
  assert.equal(out.moved, 1);
  assert.equal(out.kept, 2);
  assert.equal(store.applies.at(-1)!.changes.length, 1);
  assert.equal(store.applies.at(-1)!.changes[0].id, "b");
  assert.equal(store.sessions.get("a")!.blocks[0].start, before.get("a"));
  assert.equal(store.sessions.get("c")!.blocks[0].start, before.get("c"));
  assert.notEqual(store.sessions.get("b")!.blocks[0].start, before.get("b"));
  assert.equal(store.runs.at(-1)!.trigger, "calendar_change");
});

Deno.test("tentative busy time is free when the user says so", async () => {
  const tuesday9 = at("2026-03-03T09:00:00Z");
  const tentative = { source: "google", id: "t", start: tuesday9, end: tuesday9 + HOUR };
  for (const [tentativeIsBusy, expected] of [[true, "10:00"], [false, "09:00"]] as const) {
    const store = new FakeStore([storedSession("a")]);
    store.preferences = {
      ...DEFAULT_PREFERENCES,
      buffer_before_minutes: 0,
      buffer_after_minutes: 0,
      tentative_is_busy: tentativeIsBusy,
      updated_at: "x",
    };
    store.busy = [{ ...tentative, tentative: true }];
    await recalculateUser({ store, clock: fixedClock(MONDAY_6) }, "u1", { trigger: "manual" });
    const start = new Date(store.sessions.get("a")!.blocks[0].start).toISOString().slice(11, 16);
    assert.equal(start, expected);
  }
});

Deno.test("the first run of a new local day re-plans; no run row when nothing changed", async () => {
  const store = new FakeStore([storedSession("a")]);
  store.preferences = { ...DEFAULT_PREFERENCES, time_zone: "America/New_York", updated_at: "x" };
  const clock = fixedClock(MONDAY_6); // 01:00 in New York, Monday
  await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  assert.equal(store.applies.length, 1);
  clock.set(utc("2026-03-02T23:00:00Z")); // 18:00 Monday in New York: same local date
  const same = await recalculateUser({ store, clock }, "u1", { trigger: "roll_forward" });
  assert.ok(!same.coalesced && same.unchanged);
  assert.equal(store.applies.length, 1);
  clock.set(utc("2026-03-03T05:30:00Z")); // 00:30 Tuesday in New York
  const next = await recalculateUser({ store, clock }, "u1", { trigger: "roll_forward" });
  assert.ok(!next.coalesced);
  assert.equal(next.unchanged, false, "a new local date is a new input");
  assert.equal(next.run_id, null, "the plan is still valid: nothing changed, no run row");
  assert.equal(store.applies.length, 2, "the new hash is stored");
  assert.equal(store.applies[1].changes.length, 0);
  assert.equal(store.applies[1].localDate, "2026-03-03");
  assert.equal(store.runs.length, 1);
});

Deno.test("force re-plans and records a run even when nothing changed", async () => {
  const store = new FakeStore([storedSession("a")]);
  const clock = fixedClock(MONDAY_6);
  await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  const forced = await recalculateUser({ store, clock }, "u1", { trigger: "manual", force: true });
  assert.ok(!forced.coalesced);
  assert.equal(forced.unchanged, false);
  assert.equal(forced.run_id, "run-2");
  assert.equal(store.runs[1]!.forced, true);
  assert.equal(store.applies[1].changes.length, 0);
});

Deno.test("a run in progress coalesces the caller", async () => {
  const store = new FakeStore([storedSession("a")]);
  store.state.claim = "someone-else";
  const out = await recalculateUser({ store, clock: fixedClock(MONDAY_6) }, "u1", {
    trigger: "calendar_change",
  });
  assert.deepEqual(out, { coalesced: true });
  assert.equal(store.state.needs_run, true, "left dirty for the running one");
  assert.equal(store.loads, 0);
});

Deno.test("requests during a run lead to exactly one follow-up", async () => {
  const store = new FakeStore([storedSession("a")]);
  const clock = fixedClock(MONDAY_6);
  const coalesced: unknown[] = [];
  store.onLoad = async (n) => {
    if (n !== 1) return;
    // Three requests (and a busy change) arrive while the first run is loading.
    store.busy.push({
      source: "google",
      id: "ev",
      start: at("2026-03-03T09:00:00Z"),
      end: at("2026-03-03T12:00:00Z"),
      tentative: false,
    });
    for (let i = 0; i < 3; i++) {
      coalesced.push(await recalculateUser({ store, clock }, "u1", { trigger: "calendar_change" }));
    }
  };
  const out = await recalculateUser({ store, clock }, "u1", { trigger: "calendar_change" });
  assert.deepEqual(coalesced, [{ coalesced: true }, { coalesced: true }, { coalesced: true }]);
  assert.ok(!out.coalesced);
  assert.equal(out.follow_ups, 1);
  assert.equal(store.loads, 2);
  assert.equal(store.maxRunning, 1, "never two runs at once");
  assert.equal(store.state.needs_run, false);
  // The follow-up saw the meeting: a sits after it (12:00 + 10 min buffer).
  assert.deepEqual(blocksOf(store, "a"), [["2026-03-03T13:00:00.000Z", 0]]);
});

Deno.test("a conflicting apply re-reads and re-plans; persistent conflicts fail cleanly", async () => {
  const store = new FakeStore([storedSession("a")]);
  // The user edits the session between the first load and its apply.
  store.applyOverride = (n) => {
    if (n === 1) store.sessions.get("a")!.version++;
    return undefined;
  };
  const out = await recalculateUser({ store, clock: fixedClock(MONDAY_6) }, "u1", {
    trigger: "manual",
  });
  assert.ok(!out.coalesced);
  assert.equal(out.placed, 1);
  assert.equal(store.applies.length, 2, "the first apply conflicted");
  assert.equal(store.loads, 2, "and the plan was made again from a fresh read");
  assert.equal(store.runs.length, 1);

  const stuck = new FakeStore([storedSession("a")]);
  stuck.applyOverride = () => "conflict";
  await assert.rejects(
    recalculateUser({ store: stuck, clock: fixedClock(MONDAY_6), maxAttempts: 3 }, "u1", {
      trigger: "manual",
    }),
    (e) => e instanceof RecalcConflictError && e.reason === "conflict",
  );
  assert.equal(stuck.applies.length, 3);
  assert.equal(stuck.state.claim, null, "the claim is released");
  assert.match(stuck.finishes[0]!, /kept changing/);

  const lost = new FakeStore([storedSession("a")]);
  lost.applyOverride = () => "lease_lost";
  await assert.rejects(
    recalculateUser({ store: lost, clock: fixedClock(MONDAY_6) }, "u1", { trigger: "manual" }),
    (e) => e instanceof RecalcConflictError && e.reason === "lease_lost",
  );
});

Deno.test("an invalid time zone is a ScheduleInputError and releases the claim", async () => {
  const store = new FakeStore([storedSession("a")]);
  store.preferences = { ...DEFAULT_PREFERENCES, time_zone: "Mars/Olympus", updated_at: "x" };
  await assert.rejects(
    recalculateUser({ store, clock: fixedClock(MONDAY_6) }, "u1", { trigger: "manual" }),
    ScheduleInputError,
  );
  assert.equal(store.state.claim, null);
  assert.equal(store.applies.length, 0);
});

Deno.test("unplaceable and locked sessions are reported with reasons and written once", async () => {
  const store = new FakeStore([
    storedSession("late", { deadline: MONDAY_6 - HOUR }),
    storedSession("pinned", { locked: true }),
    storedSession("fixed", {
      locked: true,
      status: "scheduled",
      blocks: [{ index: 0, start: at("2026-03-03T09:00:00Z"), end: at("2026-03-03T10:00:00Z") }],
    }),
    storedSession("a"),
  ]);
  const clock = fixedClock(MONDAY_6);
  const out = await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  assert.ok(!out.coalesced);
  assert.deepEqual(out.unscheduled, [
    { id: "late", reason: "deadline_passed" },
    { id: "pinned", reason: "locked_without_blocks" },
  ]);
  assert.equal(out.kept, 1);
  assert.equal(store.sessions.get("pinned")!.unscheduled_reason, "locked_without_blocks");
  assert.deepEqual(blocksOf(store, "a"), [["2026-03-03T10:00:00.000Z", 0]], "after the locked");
  assert.deepEqual(store.applies[0].changes.map((c) => c.id).sort(), ["a", "late", "pinned"]);
  const again = await recalculateUser({ store, clock }, "u1", { trigger: "manual" });
  assert.ok(!again.coalesced && again.unchanged);
});

Deno.test("the idempotency hash ignores order, titles and versions, not plan inputs", async () => {
  const prefs = { ...DEFAULT_PREFERENCES };
  const s1 = storedSession("a", { blocks: [{ index: 0, start: 1, end: 2 }] });
  const s2 = storedSession("b");
  const busy = [{ source: "google", id: "x", start: 10, end: 20 }, {
    source: "google",
    id: "y",
    start: 5,
    end: 8,
  }];
  const base = { localDate: "2026-03-02", preferences: prefs, busy, sessions: [s1, s2] };
  const h = await scheduleInputHash(base);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(
    await scheduleInputHash({
      ...base,
      busy: [...busy].reverse(),
      sessions: [{ ...s2, title: "renamed", version: 9 }, s1],
    }),
    h,
  );
  const variants = [
    { ...base, localDate: "2026-03-03" },
    { ...base, busy: [busy[0]] },
    { ...base, sessions: [{ ...s1, priority: 1 }, s2] },
    { ...base, sessions: [{ ...s1, blocks: [{ index: 0, start: 1, end: 3 }] }, s2] },
    { ...base, sessions: [s1, { ...s2, unscheduled_reason: "no_working_hours" }] },
    { ...base, preferences: { ...prefs, freeze_hours: 0 } },
    { ...base, preferences: { ...prefs, tentative_is_busy: false } },
  ];
  for (const v of variants) assert.notEqual(await scheduleInputHash(v), h, canonicalHashJson(v));
});

Deno.test("the roll-forward plans every user it is given and survives one failing", async () => {
  const store = new FakeStore([storedSession("a")]);
  store.users = ["u1", "u2", "u3"];
  store.loadOnClaim = false; // the job reads the inputs itself, through the failing store
  const failing: ScheduleStore = {
    ...bind(store),
    loadInputs: (userId) =>
      userId === "u2" ? Promise.reject(new Error("boom")) : store.loadInputs(),
  };
  // One store shared by three "users" is enough to count outcomes.
  const summary = await recalculateAll({ store: failing, clock: fixedClock(MONDAY_6) }, {
    trigger: "roll_forward",
    concurrency: 1,
  });
  assert.equal(summary.users, 3);
  assert.equal(summary.runs, 1);
  assert.equal(summary.unchanged, 1);
  assert.deepEqual(summary.failed, [{ user_id: "u2", error: "boom" }]);
});

function bind(store: FakeStore): ScheduleStore {
  return {
    requestRecalc: store.requestRecalc.bind(store),
    claimRecalc: store.claimRecalc.bind(store),
    finishRecalc: store.finishRecalc.bind(store),
    loadInputs: store.loadInputs.bind(store),
    applyPlan: store.applyPlan.bind(store),
    usersToPlan: store.usersToPlan.bind(store),
    unservedMarks: store.unservedMarks.bind(store),
  };
}

Deno.test("the sweep serves a mark nobody served, recorded with the trigger that set it", async () => {
  const store = new FakeStore([storedSession("a")]);
  // A calendar change marked the user, but the in-process re-plan never happened.
  await store.requestRecalc("u1", "calendar_change");
  store.unserved = ["u1"];
  const summary = await serveUnservedMarks({ store, clock: fixedClock(MONDAY_6) });
  assert.equal(summary.runs, 1);
  assert.equal(store.runs[0]!.trigger, "calendar_change");
  assert.equal(store.state.needs_run, false);
  assert.equal(store.sessions.get("a")!.status, "scheduled");
});

Deno.test("a run that starts from the claim's inputs reads nothing else when nothing conflicts", async () => {
  const store = new FakeStore([storedSession("a")]);
  await recalculateUser({ store, clock: fixedClock(MONDAY_6) }, "u1", { trigger: "manual" });
  assert.equal(store.loads, 1, "one read, inside the claim");
  assert.equal(store.applies.length, 1);
  assert.deepEqual(store.finishes, [null], "the apply released the claim");
});
