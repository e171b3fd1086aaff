/**
 * `planSchedule`: the pure, synchronous scheduling engine.
 *
 * 1. Busy = external busy widened by the buffers (buffers apply ONLY to external busy time —
 *    meetings — not to the app's own sessions, so focus blocks may sit back to back and locked
 *    or frozen sessions are busy exactly as they are) ∪ blocks of locked sessions ∪ blocks of
 *    frozen sessions; sorted and merged (O(N log N)).
 * 2. Working windows per local date in the user's zone for `[now + freeze, now + horizon)`.
 *    Nothing new ever starts inside the freeze window.
 * 3. Free = windows − busy (one sweep).
 * 4. (a) Locked sessions (with blocks) and frozen sessions (some block starts before
 *    now + freeze_hours) stay. Every other session with blocks keeps them EXACTLY if the plan is
 *    still valid (see `isPlanValid`), checked in placement order so that of two overlapping
 *    plans the more important one stays; kept blocks are carved out of free time.
 *    (b) Displaced and new sessions are placed in placement order (priority, earliest deadline
 *    with none last, id) at the earliest fit, all or nothing; failures carry a reason.
 *    (c) Failed searches are retried against the final free time until nothing changes.
 * 5. Result with per-session actions and a keyed diff against the stored plan.
 *
 * Deterministic and idempotent: the same input gives the same output, and feeding the output
 * plan back (same `now`) keeps every session where it is and yields an empty diff.
 */
import { diffPlans, keyBlocks, sameBlocks } from "./diff.ts";
import { firstEndingAfter, subtract, unionOfBounds } from "./intervals.ts";
import {
  comparePlacementOrder,
  findPlacement,
  FreeList,
  isPlanValid,
  precheckReason,
  sessionLimits,
} from "./placement.ts";
import {
  type Block,
  DAY_MS,
  DEFAULT_GRANULARITY_MINUTES,
  HOUR_MS,
  type Interval,
  MINUTE_MS,
  type ScheduleInput,
  ScheduleInputError,
  type ScheduleResult,
  type Session,
  type SessionAction,
  type SessionResult,
  type UnscheduledReason,
} from "./types.ts";
import { assertTimeZone, parseWorkingHours, workingWindows } from "./working_windows.ts";

function nonNegative(name: string, v: number): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new ScheduleInputError(`${name} must be a finite number >= 0`);
  }
  return v;
}

function byStart(a: Interval, b: Interval): number {
  return a.start - b.start || a.end - b.end;
}

interface Outcome {
  blocks: Interval[];
  reason?: UnscheduledReason;
}

/** Plans the sessions around busy time. Pure: no I/O, no clock. Throws `ScheduleInputError`. */
export function planSchedule(input: ScheduleInput): ScheduleResult {
  const { now, preferences: p } = input;
  if (typeof now !== "number" || !Number.isFinite(now)) {
    throw new ScheduleInputError("now must be a finite epoch-ms number");
  }
  assertTimeZone(p.time_zone);
  const hours = parseWorkingHours(p.working_hours);
  const beforeMs = nonNegative("buffer_before_minutes", p.buffer_before_minutes) * MINUTE_MS;
  const afterMs = nonNegative("buffer_after_minutes", p.buffer_after_minutes) * MINUTE_MS;
  const freezeEnd = now + nonNegative("freeze_hours", p.freeze_hours) * HOUR_MS;
  const horizonEnd = now + nonNegative("horizon_days", p.horizon_days) * DAY_MS;
  const gran = p.granularity_minutes ?? DEFAULT_GRANULARITY_MINUTES;
  if (!Number.isInteger(gran) || gran <= 0 || 60 % gran !== 0) {
    throw new ScheduleInputError("granularity_minutes must be a positive divisor of 60");
  }
  const granMs = gran * MINUTE_MS;

  // Active sessions in placement order; duplicates are a caller bug.
  const sessions: Session[] = [];
  const ids = new Set<string>();
  for (const s of input.sessions) {
    if (ids.has(s.id)) throw new ScheduleInputError(`duplicate session id "${s.id}"`);
    ids.add(s.id);
    if (s.status !== "done" && s.status !== "cancelled") sessions.push(s);
  }
  sessions.sort(comparePlacementOrder);

  // Sorted stored plans; fixed = locked with blocks, or frozen.
  const outcomes = new Map<string, Outcome>();
  const sortedPlan = new Map<string, Interval[]>();
  const fixedBlocks: Interval[] = [];
  const movable: Session[] = [];
  for (const s of sessions) {
    const plan = s.blocks.map((b) => ({ start: b.start, end: b.end })).sort(byStart);
    sortedPlan.set(s.id, plan);
    const frozen = plan.length > 0 && plan[0].start < freezeEnd;
    if (plan.length > 0 && (s.locked || frozen)) {
      outcomes.set(s.id, { blocks: plan });
      for (const b of plan) if (b.end > b.start) fixedBlocks.push(b);
    } else if (s.locked) {
      outcomes.set(s.id, { blocks: [], reason: "locked_without_blocks" });
    } else {
      movable.push(s);
    }
  }

  // 1. Busy: external busy widened by the buffers ∪ fixed session blocks (not widened), only
  //    what can touch [freezeEnd, horizonEnd); union by sorting starts and ends separately
  //    (native numeric typed-array sorts) and sweeping a coverage counter.
  const starts: number[] = [];
  const ends: number[] = [];
  for (const b of input.busy) {
    if (!(b.end > b.start)) continue; // also drops NaN
    const s = b.start - beforeMs;
    const e = b.end + afterMs;
    if (e > freezeEnd && s < horizonEnd) {
      starts.push(s);
      ends.push(e);
    }
  }
  for (const b of fixedBlocks) {
    starts.push(b.start);
    ends.push(b.end);
  }
  const busy = unionOfBounds(Float64Array.from(starts), Float64Array.from(ends));

  // 2 + 3. Working windows from the end of the freeze window; free = windows − busy.
  const windows = workingWindows(p.time_zone, hours, freezeEnd, horizonEnd);
  const free = new FreeList(subtract(windows, busy));

  // 4a. Keep every still-valid plan exactly where it is.
  const toPlace: { s: Session; limits: Exclude<ReturnType<typeof sessionLimits>, string> }[] = [];
  for (const s of movable) {
    const limits = sessionLimits(s);
    if (typeof limits === "string") {
      outcomes.set(s.id, { blocks: [], reason: limits });
      continue;
    }
    const plan = sortedPlan.get(s.id)!;
    if (plan.length > 0 && isPlanValid(s, limits, plan, free)) {
      for (const b of plan) free.carve(b);
      outcomes.set(s.id, { blocks: plan });
    } else {
      toPlace.push({ s, limits });
    }
  }

  // 4b. Place displaced and new sessions, earliest fit, all or nothing.
  const failed: typeof toPlace = [];
  for (const { s, limits } of toPlace) {
    const pre = precheckReason(s, limits.durationMs, now, freezeEnd, horizonEnd);
    if (pre !== null) {
      outcomes.set(s.id, { blocks: [], reason: pre });
      continue;
    }
    const lo = Math.max(s.earliest_start ?? -Infinity, freezeEnd);
    const hi = Math.min(s.deadline ?? Infinity, horizonEnd);
    const blocks = findPlacement(free, limits, lo, hi, granMs);
    if (blocks !== null) {
      for (const b of blocks) free.carve(b);
      outcomes.set(s.id, { blocks });
      continue;
    }
    failed.push({ s, limits });
    const w = firstEndingAfter(windows, lo);
    const hasHours = w < windows.length && windows[w].start < hi;
    const reason: UnscheduledReason = !hasHours
      ? "no_working_hours"
      : s.deadline != null && s.deadline < horizonEnd
      ? "no_free_time_before_deadline"
      : "no_free_time_in_horizon";
    outcomes.set(s.id, { blocks: [], reason });
  }

  // 4c. Retry failed searches against the final free time until a pass places nothing.
  //     Split placement is greedy, so a session that failed on more free time can succeed on
  //     less (carving creates new gaps). Retrying to a fixed point makes the result idempotent:
  //     re-running on the output presents every still-unscheduled session with exactly the free
  //     time its last (failed) attempt saw, so it fails again and nothing changes.
  for (let progress = failed.length > 0; progress;) {
    progress = false;
    for (let i = 0; i < failed.length; i++) {
      const { s, limits } = failed[i];
      const lo = Math.max(s.earliest_start ?? -Infinity, freezeEnd);
      const hi = Math.min(s.deadline ?? Infinity, horizonEnd);
      const blocks = findPlacement(free, limits, lo, hi, granMs);
      if (blocks === null) continue;
      for (const b of blocks) free.carve(b);
      outcomes.set(s.id, { blocks });
      failed.splice(i--, 1);
      progress = true;
    }
  }

  // 5. Result, sorted by id.
  const byId = [...sessions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const results: SessionResult[] = [];
  const oldKeyed: Block[] = [];
  const newKeyed: Block[] = [];
  const unscheduled: { id: string; reason: UnscheduledReason }[] = [];
  let moved = 0;
  let kept = 0;
  let placed = 0;
  for (const s of byId) {
    const out = outcomes.get(s.id)!;
    const plan = sortedPlan.get(s.id)!;
    const blocks = keyBlocks(s.id, out.blocks);
    for (const b of keyBlocks(s.id, plan)) oldKeyed.push(b);
    for (const b of blocks) newKeyed.push(b);
    let action: SessionAction;
    if (blocks.length === 0) action = "unscheduled";
    else if (plan.length === 0) action = "placed";
    else if (sameBlocks(plan, out.blocks)) action = "kept";
    else action = "moved";
    const r: SessionResult = {
      id: s.id,
      status: blocks.length > 0 ? "scheduled" : "unscheduled",
      blocks,
      action,
    };
    if (action === "unscheduled") {
      const reason = out.reason ?? "no_free_time_in_horizon";
      r.reason = reason;
      unscheduled.push({ id: s.id, reason });
    } else if (action === "kept") kept++;
    else if (action === "moved") moved++;
    else placed++;
    results.push(r);
  }

  return {
    sessions: results,
    moved,
    kept,
    placed,
    unscheduled,
    diff: diffPlans(oldKeyed, newKeyed),
  };
}
