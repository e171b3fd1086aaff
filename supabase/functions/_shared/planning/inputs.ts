/**
 * Pure helpers of the planning job: the defaults for users without preferences, the user's
 * local date, the fixed busy-time window of a local day, the busy time the engine sees (the
 * tentative preference applied), and the per-session writes that turn the stored plan into the
 * engine's. No I/O, no clock: `now` is always an argument.
 */
import { Temporal } from "temporal-polyfill";
import {
  type BusySource,
  DAY_MS,
  type Preferences,
  type ScheduleResult,
  type Session,
} from "../scheduling/types.ts";
import { assertTimeZone } from "../scheduling/working_windows.ts";
import type {
  SessionChange,
  StoredBlock,
  StoredBusy,
  StoredPreferences,
  StoredSession,
} from "./store.ts";
import type { HashSession } from "./input_hash.ts";

/** The column defaults of `public.scheduling_preferences`, for users without a row. */
export const DEFAULT_PREFERENCES: Readonly<Required<Omit<Preferences, "granularity_minutes">>> = {
  time_zone: "UTC",
  working_hours: Object.fromEntries(
    (["mon", "tue", "wed", "thu", "fri"] as const).map((d) => [d, [
      { start: "09:00", end: "12:00" },
      { start: "13:00", end: "17:00" },
    ]]),
  ),
  buffer_before_minutes: 10,
  buffer_after_minutes: 10,
  freeze_hours: 12,
  horizon_days: 14,
  tentative_is_busy: true,
};

/** The largest horizon the schema allows (`horizon_days between 1 and 60`). */
export const MAX_HORIZON_DAYS = 60;
export function toPreferences(stored: StoredPreferences | null): Preferences {
  const p = stored ?? DEFAULT_PREFERENCES;
  return {
    time_zone: p.time_zone,
    working_hours: p.working_hours,
    buffer_before_minutes: p.buffer_before_minutes,
    buffer_after_minutes: p.buffer_after_minutes,
    freeze_hours: p.freeze_hours,
    horizon_days: p.horizon_days,
    tentative_is_busy: p.tentative_is_busy,
  };
}

/** The user's local date (`YYYY-MM-DD`) at `now`. Throws ScheduleInputError for a bad zone. */
export function localDateOf(now: number, timeZone: string): string {
  assertTimeZone(timeZone);
  return Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone).toPlainDate()
    .toString();
}

/**
 * The busy time that can matter to a plan made on `localDate`, as a fixed window for the whole
 * local day: from the day's start minus one day to its start plus horizon + 2 days. It holds
 * everything the engine looks at for any `now` that day ([now + freeze − buffer, now + horizon
 * + buffer), buffers ≤ 4 h), and does not slide with `now`, so the hash is stable within a day.
 */
export function busyWindow(localDate: string, timeZone: string, horizonDays: number): {
  from: number;
  to: number;
} {
  const dayStart = Temporal.PlainDate.from(localDate).toZonedDateTime(timeZone).epochMilliseconds;
  return { from: dayStart - DAY_MS, to: dayStart + (horizonDays + 2) * DAY_MS };
}

/** The busy sources the engine sees: tentative policy applied, inside the window. */
export function selectBusy(
  busy: readonly StoredBusy[],
  prefs: Preferences,
  window: { from: number; to: number },
): BusySource[] {
  const tentativeIsBusy = prefs.tentative_is_busy ?? true;
  const out: BusySource[] = [];
  for (const b of busy) {
    if (b.tentative && !tentativeIsBusy) continue;
    if (!(b.end > b.start) || b.end <= window.from || b.start >= window.to) continue;
    out.push({ source: b.source, id: b.id, start: b.start, end: b.end });
  }
  return out;
}

export function toEngineSession(s: StoredSession): Session {
  return {
    id: s.id,
    title: s.title,
    duration_minutes: s.duration_minutes,
    min_block_minutes: s.min_block_minutes,
    max_block_minutes: s.max_block_minutes,
    earliest_start: s.earliest_start,
    deadline: s.deadline,
    priority: s.priority,
    locked: s.locked,
    status: s.status,
    blocks: s.blocks.map((b) => ({ start: b.start, end: b.end })),
  };
}

function sameStoredBlocks(a: readonly StoredBlock[], b: readonly StoredBlock[]): boolean {
  if (a.length !== b.length) return false;
  const byIndex = new Map(a.map((x) => [x.index, x]));
  return b.every((y) => {
    const x = byIndex.get(y.index);
    return x !== undefined && x.start === y.start && x.end === y.end;
  });
}

/**
 * The per-session writes that turn the stored plan into the engine's: status, reason and the
 * complete block list of every session where any of them differs (block indices as stored, so a
 * re-keyed set of the same blocks is a change too). Unchanged sessions are not listed.
 */
export function planChanges(stored: readonly StoredSession[], result: ScheduleResult): {
  changes: SessionChange[];
  after: HashSession[];
} {
  const byId = new Map(result.sessions.map((r) => [r.id, r]));
  const changes: SessionChange[] = [];
  const after: HashSession[] = [];
  for (const s of stored) {
    const r = byId.get(s.id);
    if (r === undefined) throw new Error(`engine returned no result for session ${s.id}`);
    const blocks = r.blocks.map((b) => ({ index: b.index, start: b.start, end: b.end }));
    const reason = r.reason ?? null;
    if (
      r.status !== s.status || reason !== s.unscheduled_reason ||
      !sameStoredBlocks(s.blocks, blocks)
    ) {
      changes.push({ id: s.id, status: r.status, unscheduled_reason: reason, blocks });
    }
    after.push({ ...s, status: r.status, unscheduled_reason: reason, blocks });
  }
  return { changes, after };
}
