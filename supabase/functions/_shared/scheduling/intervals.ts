/**
 * Half-open UTC interval algebra in epoch ms. "Normalised" means: sorted by start, pairwise
 * disjoint and non-adjacent (overlapping *and* touching intervals are merged), no empty ones.
 */
import type { Interval } from "./types.ts";

function byStartThenEnd(a: Interval, b: Interval): number {
  return a.start - b.start || a.end - b.end;
}

/** Merges an array already sorted by start (overlapping and adjacent intervals). O(N). */
export function mergeSorted(sorted: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let cur: Interval | null = null;
  for (const iv of sorted) {
    if (!(iv.end > iv.start)) continue;
    if (cur !== null && iv.start <= cur.end) {
      if (iv.end > cur.end) cur.end = iv.end;
    } else {
      cur = { start: iv.start, end: iv.end };
      out.push(cur);
    }
  }
  return out;
}

/**
 * Normalises arbitrary intervals: drops empty/inverted/non-finite ones, sorts, merges.
 * O(N log N). Never mutates its input.
 */
export function normalize(intervals: readonly Interval[]): Interval[] {
  const valid: Interval[] = [];
  for (const iv of intervals) {
    if (Number.isFinite(iv.start) && Number.isFinite(iv.end) && iv.end > iv.start) {
      valid.push({ start: iv.start, end: iv.end });
    }
  }
  valid.sort(byStartThenEnd);
  return mergeSorted(valid);
}

/** Clips each interval of a normalised list to `[from, to)`. */
export function clip(intervals: readonly Interval[], from: number, to: number): Interval[] {
  const out: Interval[] = [];
  for (const iv of intervals) {
    const s = iv.start > from ? iv.start : from;
    const e = iv.end < to ? iv.end : to;
    if (e > s) out.push({ start: s, end: e });
  }
  return out;
}

/**
 * `a − b` for normalised `a` and `b`, by one sweep over both lists. O(|a| + |b|).
 * The result is normalised.
 */
export function subtract(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let j = 0;
  for (const iv of a) {
    let s = iv.start;
    const e = iv.end;
    // Skip subtrahends that end before this interval starts (they can't touch later ones either).
    while (j < b.length && b[j].end <= s) j++;
    let k = j;
    while (k < b.length && b[k].start < e) {
      if (b[k].start > s) out.push({ start: s, end: b[k].start });
      if (b[k].end > s) s = b[k].end;
      if (s >= e) break;
      k++;
    }
    if (s < e) out.push({ start: s, end: e });
  }
  return out;
}

/** Index of the first interval with `end > t` in a sorted disjoint list (or `list.length`). */
export function firstEndingAfter(list: readonly Interval[], t: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].end > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Index of the interval of a sorted disjoint list that fully contains `iv`, or -1. */
export function indexContaining(list: readonly Interval[], iv: Interval): number {
  const i = firstEndingAfter(list, iv.start);
  if (i < list.length && list[i].start <= iv.start && iv.end <= list[i].end) return i;
  return -1;
}

/**
 * Union of intervals given as separate start and end arrays (same length, each `end > start`),
 * e.g. 5,000 busy events: sorts both typed arrays natively, then sweeps a coverage counter,
 * processing starts before ends at equal instants so touching intervals merge. O(N log N);
 * the arrays are sorted in place. Equivalent to `normalize` of the paired intervals.
 */
export function unionOfBounds(starts: Float64Array, ends: Float64Array): Interval[] {
  starts.sort();
  ends.sort();
  const out: Interval[] = [];
  const n = starts.length;
  let i = 0;
  let j = 0;
  let depth = 0;
  let open = 0;
  while (j < n) {
    if (i < n && starts[i] <= ends[j]) {
      if (depth++ === 0) open = starts[i];
      i++;
    } else {
      if (--depth === 0) out.push({ start: open, end: ends[j] });
      j++;
    }
  }
  return out;
}
