/**
 * Naive baseline for the benchmark ONLY (not used by the product): re-solves every non-locked
 * session from scratch on a fixed 15-minute slot grid, checking every slot against every busy
 * event — O(slots × events) — then fills sessions in priority order into the first run(s) of
 * free slots. It has no notion of keeping a still-valid plan, which is why one new meeting
 * reshuffles everything placed after it.
 */
import {
  parseWorkingHours,
  workingWindows,
} from "../../supabase/functions/_shared/scheduling/working_windows.ts";
import type { Interval, ScheduleInput } from "../../supabase/functions/_shared/scheduling/types.ts";

const SLOT_MS = 15 * 60_000;

export interface NaivePlan {
  /** session id → blocks (empty if it did not fit). */
  blocks: Map<string, Interval[]>;
}

export function naivePlan(input: ScheduleInput): NaivePlan {
  const p = input.preferences;
  const from = Math.ceil((input.now + p.freeze_hours * 3_600_000) / SLOT_MS) * SLOT_MS;
  const to = input.now + p.horizon_days * 86_400_000;
  const nSlots = Math.max(0, Math.floor((to - from) / SLOT_MS));
  const windows = workingWindows(p.time_zone, parseWorkingHours(p.working_hours), from, to);
  const before = p.buffer_before_minutes * 60_000;
  const after = p.buffer_after_minutes * 60_000;
  const active = input.sessions.filter((s) => s.status !== "done" && s.status !== "cancelled");
  const lockedBlocks = active.filter((s) => s.locked).flatMap((s) => s.blocks);

  // free[i]: slot i is inside working hours and overlaps no event and no locked block.
  const free = new Uint8Array(nSlots);
  for (let i = 0; i < nSlots; i++) {
    const s = from + i * SLOT_MS;
    const e = s + SLOT_MS;
    let ok = windows.some((w) => w.start <= s && e <= w.end);
    for (let j = 0; ok && j < input.busy.length; j++) {
      const b = input.busy[j];
      if (b.start - before < e && s < b.end + after) ok = false;
    }
    for (let j = 0; ok && j < lockedBlocks.length; j++) {
      if (lockedBlocks[j].start < e && s < lockedBlocks[j].end) ok = false;
    }
    free[i] = ok ? 1 : 0;
  }

  const order = active.filter((s) => !s.locked).sort((a, b) =>
    a.priority - b.priority || (a.deadline ?? Infinity) - (b.deadline ?? Infinity) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const out = new Map<string, Interval[]>();
  for (const s of active.filter((s) => s.locked)) out.set(s.id, s.blocks);
  for (const s of order) {
    const need = Math.ceil(s.duration_minutes / 15);
    const chunk = s.max_block_minutes ? Math.max(1, Math.floor(s.max_block_minutes / 15)) : need;
    const minChunk = s.min_block_minutes ? Math.ceil(s.min_block_minutes / 15) : need;
    let remaining = need;
    const taken: [number, number][] = [];
    for (let i = 0; i < nSlots && remaining > 0;) {
      if (!free[i]) {
        i++;
        continue;
      }
      let run = 0;
      while (i + run < nSlots && free[i + run] && run < Math.min(chunk, remaining)) run++;
      const slotEnd = from + (i + run) * SLOT_MS;
      const okDeadline = s.deadline == null || slotEnd <= s.deadline;
      const okStart = s.earliest_start == null || from + i * SLOT_MS >= s.earliest_start;
      if (okDeadline && okStart && run >= Math.min(minChunk, remaining)) {
        taken.push([i, run]);
        remaining -= run;
        i += run;
      } else i++;
    }
    if (remaining > 0) {
      out.set(s.id, []);
      continue;
    }
    for (const [i, run] of taken) free.fill(0, i, i + run);
    out.set(
      s.id,
      taken.map(([i, run]) => ({ start: from + i * SLOT_MS, end: from + (i + run) * SLOT_MS })),
    );
  }
  return { blocks: out };
}
