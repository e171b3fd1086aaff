/**
 * Stable, synchronous, order-independent input hash (a change detector, not a cryptographic
 * digest), written for this engine so `planSchedule` stays sync and never sorts 5,000 events
 * just to hash them.
 *
 * Construction ("dual-lane FNV-1a over UTF-16 words, fmix32-finalised, multiset-combined"):
 * - An item hash has two 32-bit lanes, each FNV-1a-style over 16-bit words:
 *   lane A: offset 0x811c9dc5, multiplier 0x01000193 (the FNV-32 prime);
 *   lane B: offset 0x9747b28c, multiplier 0x5bd1e995. Each lane is finalised with the
 *   murmur3 `fmix32` avalanche; the item hash is A‖B (64 bits).
 * - Encoding: a string is its length then its UTF-16 code units; a number is the four 16-bit
 *   words of its IEEE-754 float64; null/undefined is the word 0xffff followed by nothing.
 * - Collections whose order carries no meaning (busy intervals, sessions, a session's blocks,
 *   a weekday's working ranges) are combined as a multiset: the lanes of the item hashes are
 *   added mod 2^32 (so reordering never changes the hash, and duplicates do count).
 * - `now` and all preferences are included: the hash identifies exactly the input a result
 *   was computed from.
 */
import type { ScheduleInput, Session, TimeRange } from "./types.ts";
import { WEEKDAYS } from "./working_windows.ts";

const f64 = new Float64Array(1);
const u16 = new Uint16Array(f64.buffer);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Incremental 64-bit (two-lane) hash over 16-bit words. */
export class Hash64 {
  a = 0x811c9dc5;
  b = 0x9747b28c;

  word(w: number): this {
    this.a = Math.imul(this.a ^ (w & 0xffff), 0x01000193);
    this.b = Math.imul(this.b ^ (w & 0xffff), 0x5bd1e995);
    return this;
  }

  number(n: number): this {
    f64[0] = n;
    return this.word(u16[0]).word(u16[1]).word(u16[2]).word(u16[3]);
  }

  string(s: string): this {
    this.number(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
    return this;
  }

  nullable(v: number | null | undefined): this {
    return v === null || v === undefined ? this.word(0xffff) : this.word(0).number(v);
  }

  bool(v: boolean): this {
    return this.word(v ? 1 : 0);
  }

  /** Folds a finished multiset (see {@link Multiset}) into this hash. */
  multiset(m: Multiset): this {
    return this.number(m.count).number(m.a).number(m.b);
  }

  /** Finalised lanes. */
  lanes(): [number, number] {
    return [fmix32(this.a >>> 0), fmix32(this.b >>> 0)];
  }

  /** 16 lowercase hex characters. */
  hex(): string {
    const [a, b] = this.lanes();
    return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
  }
}

/** Order-independent combination of item hashes (lane-wise sum mod 2^32). */
export class Multiset {
  a = 0;
  b = 0;
  count = 0;

  add(item: Hash64): this {
    const [a, b] = item.lanes();
    this.a = (this.a + a) >>> 0;
    this.b = (this.b + b) >>> 0;
    this.count++;
    return this;
  }
}

function rangesHash(ranges: readonly TimeRange[]): Multiset {
  const m = new Multiset();
  for (const r of ranges) m.add(new Hash64().string(r.start).string(r.end));
  return m;
}

function sessionHash(s: Session): Hash64 {
  const h = new Hash64().string(s.id).string(s.title).number(s.duration_minutes)
    .nullable(s.min_block_minutes).nullable(s.max_block_minutes)
    .nullable(s.earliest_start).nullable(s.deadline)
    .number(s.priority).bool(s.locked).string(s.status);
  const blocks = new Multiset();
  for (const b of s.blocks) blocks.add(new Hash64().number(b.start).number(b.end));
  return h.multiset(blocks);
}

/** Hash of everything the plan depends on, including `now`. 16 hex chars. */
export function hashScheduleInput(input: ScheduleInput): string {
  const p = input.preferences;
  const h = new Hash64().string("schedule-input/v1").number(input.now).string(p.time_zone);
  for (const day of WEEKDAYS) h.multiset(rangesHash(p.working_hours[day] ?? []));
  h.number(p.buffer_before_minutes).number(p.buffer_after_minutes).number(p.freeze_hours)
    .number(p.horizon_days).bool(p.tentative_is_busy ?? true).nullable(p.granularity_minutes);
  const busy = new Multiset();
  // Hot loop (thousands of events): the same encoding as Hash64, inlined on locals.
  let sumA = 0;
  let sumB = 0;
  for (const ev of input.busy) {
    let a = 0x811c9dc5;
    let b = 0x9747b28c;
    for (const str of [ev.source, ev.id]) {
      f64[0] = str.length;
      for (let k = 0; k < 4; k++) {
        a = Math.imul(a ^ u16[k], 0x01000193);
        b = Math.imul(b ^ u16[k], 0x5bd1e995);
      }
      for (let i = 0; i < str.length; i++) {
        const w = str.charCodeAt(i);
        a = Math.imul(a ^ w, 0x01000193);
        b = Math.imul(b ^ w, 0x5bd1e995);
      }
    }
    for (const n of [ev.start, ev.end]) {
      f64[0] = n;
      for (let k = 0; k < 4; k++) {
        a = Math.imul(a ^ u16[k], 0x01000193);
        b = Math.imul(b ^ u16[k], 0x5bd1e995);
      }
    }
    sumA = (sumA + fmix32(a >>> 0)) >>> 0;
    sumB = (sumB + fmix32(b >>> 0)) >>> 0;
  }
  busy.a = sumA;
  busy.b = sumB;
  busy.count = input.busy.length;
  const sessions = new Multiset();
  for (const s of input.sessions) sessions.add(sessionHash(s));
  return h.multiset(busy).multiset(sessions).hex();
}
