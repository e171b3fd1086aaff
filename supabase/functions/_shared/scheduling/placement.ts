/**
 * Two-phase placement primitives: session limits, plan validation (phase a) and earliest-fit
 * placement with optional splitting (phase b) over a mutable list of free intervals.
 */
import { firstEndingAfter, indexContaining } from "./intervals.ts";
import {
  DEFAULT_MIN_BLOCK_MINUTES,
  type Interval,
  MINUTE_MS,
  type Session,
  type UnscheduledReason,
} from "./types.ts";

/** Effective block limits of a session, in ms. */
export interface SessionLimits {
  durationMs: number;
  /** False: exactly one contiguous block of `durationMs`. */
  split: boolean;
  minMs: number;
  maxMs: number;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** ⌈D/max⌉ ≤ ⌊D/min⌋ ⇔ D can be written as a sum of parts each within [min, max]. */
export function splittable(durationMin: number, minMin: number, maxMin: number): boolean {
  return Math.ceil(durationMin / maxMin) <= Math.floor(durationMin / minMin);
}

/**
 * Resolves the limits of a session (see `Session.min_block_minutes`), or the reason it can
 * never be placed. A min larger than the duration is capped at the duration.
 */
export function sessionLimits(
  s: Session,
): SessionLimits | "invalid_session" | "block_limits_unsatisfiable" {
  const d = s.duration_minutes;
  if (!isPositiveInt(d)) return "invalid_session";
  const hasMin = s.min_block_minutes !== undefined && s.min_block_minutes !== null;
  const hasMax = s.max_block_minutes !== undefined && s.max_block_minutes !== null;
  if (
    (hasMin && !isPositiveInt(s.min_block_minutes)) ||
    (hasMax && !isPositiveInt(s.max_block_minutes))
  ) {
    return "invalid_session";
  }
  if (!hasMin && !hasMax) {
    return { durationMs: d * MINUTE_MS, split: false, minMs: d * MINUTE_MS, maxMs: d * MINUTE_MS };
  }
  const max = hasMax ? s.max_block_minutes as number : d;
  if (hasMin && (s.min_block_minutes as number) > max) return "invalid_session";
  const min = Math.min(hasMin ? s.min_block_minutes as number : DEFAULT_MIN_BLOCK_MINUTES, max, d);
  if (!splittable(d, min, max)) return "block_limits_unsatisfiable";
  return { durationMs: d * MINUTE_MS, split: true, minMs: min * MINUTE_MS, maxMs: max * MINUTE_MS };
}

/**
 * Deterministic placement order: priority (lower first), then earliest deadline (none last),
 * then id.
 */
export function comparePlacementOrder(a: Session, b: Session): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const da = a.deadline ?? Infinity;
  const db = b.deadline ?? Infinity;
  if (da !== db) return da < db ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Free time that shrinks as blocks are committed. Intervals stay sorted and disjoint.
 */
export class FreeList {
  readonly intervals: Interval[];

  constructor(normalised: Interval[]) {
    this.intervals = normalised;
  }

  /** True if `iv` lies entirely inside one free interval. */
  contains(iv: Interval): boolean {
    return indexContaining(this.intervals, iv) >= 0;
  }

  /** Removes `iv`, which must lie inside one free interval. */
  carve(iv: Interval): void {
    const i = indexContaining(this.intervals, iv);
    if (i < 0) throw new Error("carve: interval is not free");
    const f = this.intervals[i];
    const left = iv.start > f.start;
    const right = iv.end < f.end;
    if (left && right) {
      this.intervals.splice(i, 1, { start: f.start, end: iv.start }, { start: iv.end, end: f.end });
    } else if (left) {
      this.intervals[i] = { start: f.start, end: iv.start };
    } else if (right) {
      this.intervals[i] = { start: iv.end, end: f.end };
    } else {
      this.intervals.splice(i, 1);
    }
  }
}

/**
 * Phase (a) check: is the stored plan (sorted blocks) still valid? Valid means: right total
 * length, block count/lengths within the limits, no self-overlap, after earliest_start, by the
 * deadline, and every block inside currently free working time (windows − busy − blocks of
 * sessions kept before this one).
 */
export function isPlanValid(
  s: Session,
  limits: SessionLimits,
  sorted: readonly Interval[],
  free: FreeList,
): boolean {
  if (sorted.length === 0) return false;
  if (!limits.split && sorted.length !== 1) return false;
  let total = 0;
  let prevEnd = -Infinity;
  for (const b of sorted) {
    const len = b.end - b.start;
    if (!(len > 0) || b.start < prevEnd) return false;
    if (limits.split && (len < limits.minMs || len > limits.maxMs)) return false;
    total += len;
    prevEnd = b.end;
  }
  if (total !== limits.durationMs) return false;
  if (s.earliest_start != null && sorted[0].start < s.earliest_start) return false;
  if (s.deadline != null && sorted[sorted.length - 1].end > s.deadline) return false;
  for (const b of sorted) if (!free.contains(b)) return false;
  return true;
}

function alignUp(t: number, granMs: number): number {
  return Math.ceil(t / granMs) * granMs;
}

/**
 * Earliest fit in `[lo, hi)`, or null if the whole duration cannot be placed (all or nothing;
 * nothing is committed here). Contiguous sessions take the first free interval that holds
 * them. Split sessions take, earliest first, one block per free interval of the largest length
 * ≤ max that keeps the remainder splittable into [min, max] blocks (so the last block is never
 * shorter than min). Block starts are aligned up to `granMs`.
 */
export function findPlacement(
  free: FreeList,
  limits: SessionLimits,
  lo: number,
  hi: number,
  granMs: number,
): Interval[] | null {
  const list = free.intervals;
  let i = firstEndingAfter(list, lo);
  if (!limits.split) {
    const d = limits.durationMs;
    for (; i < list.length; i++) {
      const f = list[i];
      if (f.start >= hi) break;
      const s = alignUp(f.start > lo ? f.start : lo, granMs);
      const e = s + d;
      if (e <= f.end && e <= hi) return [{ start: s, end: e }];
    }
    return null;
  }
  const minMin = limits.minMs / MINUTE_MS;
  const maxMin = limits.maxMs / MINUTE_MS;
  let remaining = limits.durationMs / MINUTE_MS;
  const out: Interval[] = [];
  for (; i < list.length && remaining > 0; i++) {
    const f = list[i];
    if (f.start >= hi) break;
    const s = alignUp(f.start > lo ? f.start : lo, granMs);
    const e = f.end < hi ? f.end : hi;
    const avail = Math.floor((e - s) / MINUTE_MS);
    let c = Math.min(maxMin, avail, remaining);
    while (c >= minMin && c < remaining && !splittable(remaining - c, minMin, maxMin)) c--;
    if (c < minMin) continue;
    out.push({ start: s, end: s + c * MINUTE_MS });
    remaining -= c;
  }
  return remaining === 0 ? out : null;
}

/** Pre-placement reasons that need no search; `null` if placement should be attempted. */
export function precheckReason(
  s: Session,
  durationMs: number,
  now: number,
  placementStart: number,
  horizonEnd: number,
): UnscheduledReason | null {
  const es = s.earliest_start ?? null;
  const dl = s.deadline ?? null;
  if (dl !== null && dl <= now) return "deadline_passed";
  if (es !== null && dl !== null && es + durationMs > dl) return "earliest_start_after_deadline";
  if (es !== null && es >= horizonEnd) return "beyond_horizon";
  const lo = Math.max(es ?? -Infinity, placementStart);
  const hi = Math.min(dl ?? Infinity, horizonEnd);
  if (lo + durationMs > hi) {
    return dl !== null && dl < horizonEnd
      ? "no_free_time_before_deadline"
      : "no_free_time_in_horizon";
  }
  return null;
}
