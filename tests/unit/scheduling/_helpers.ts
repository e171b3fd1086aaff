// Shared fixtures for the scheduling tests (not a test file itself).
import { Temporal } from "temporal-polyfill";
import type {
  Interval,
  Preferences,
  ScheduleInput,
  Session,
  TimeRange,
  Weekday,
} from "../../../supabase/functions/_shared/scheduling/mod.ts";

export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export const utc = (iso: string): number => Date.parse(iso);

const WEEKDAYS: Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export function weekdays(ranges: TimeRange[]): Partial<Record<Weekday, TimeRange[]>> {
  return { mon: ranges, tue: ranges, wed: ranges, thu: ranges, fri: ranges };
}

export function prefs(over: Partial<Preferences> = {}): Preferences {
  return {
    time_zone: "UTC",
    working_hours: weekdays([{ start: "09:00", end: "17:00" }]),
    buffer_before_minutes: 0,
    buffer_after_minutes: 0,
    freeze_hours: 0,
    horizon_days: 7,
    tentative_is_busy: true,
    ...over,
  };
}

export function session(id: string, over: Partial<Session> = {}): Session {
  return {
    id,
    title: id,
    duration_minutes: 60,
    priority: 2,
    locked: false,
    status: "unscheduled",
    blocks: [],
    ...over,
  };
}

/** Monday 2026-03-02 08:00Z. */
export const MONDAY_8 = utc("2026-03-02T08:00:00Z");

export function input(over: Partial<ScheduleInput> = {}): ScheduleInput {
  return { now: MONDAY_8, preferences: prefs(), busy: [], sessions: [], ...over };
}

function parseHm(v: string): [number, number] {
  const [h, m] = v.split(":").map(Number);
  return [h, m];
}

/**
 * Independent reference for working windows: every bound resolved with Temporal
 * (`disambiguation: "compatible"`), merged, not clipped. Slow but obviously right.
 */
export function referenceWindows(
  timeZone: string,
  hours: Partial<Record<Weekday, TimeRange[]>>,
  from: number,
  to: number,
): Interval[] {
  let date = Temporal.Instant.fromEpochMilliseconds(from).toZonedDateTimeISO(timeZone)
    .toPlainDate().subtract({ days: 1 });
  const last = Temporal.Instant.fromEpochMilliseconds(to).toZonedDateTimeISO(timeZone)
    .toPlainDate().add({ days: 1 });
  const raw: Interval[] = [];
  const resolve = (d: Temporal.PlainDate, hm: string): number => {
    let [h, m] = parseHm(hm);
    let day = d;
    if (h === 24) {
      day = d.add({ days: 1 });
      h = 0;
      m = 0;
    }
    return day.toPlainDateTime({ hour: h, minute: m })
      .toZonedDateTime(timeZone, { disambiguation: "compatible" }).epochMilliseconds;
  };
  while (Temporal.PlainDate.compare(date, last) <= 0) {
    for (const r of hours[WEEKDAYS[date.dayOfWeek - 1]] ?? []) {
      const s = resolve(date, r.start);
      const e = resolve(date, r.end);
      if (e > s) raw.push({ start: s, end: e });
    }
    date = date.add({ days: 1 });
  }
  raw.sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const iv of raw) {
    const lastIv = out[out.length - 1];
    if (lastIv && iv.start <= lastIv.end) lastIv.end = Math.max(lastIv.end, iv.end);
    else out.push({ ...iv });
  }
  return out;
}

export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && b.start < a.end;
}

export function insideSome(iv: Interval, list: readonly Interval[]): boolean {
  return list.some((w) => w.start <= iv.start && iv.end <= w.end);
}

/** `PROPERTY_SEED` env override, printed so a failure can be replayed. */
export function propertySeed(fallback: number): number {
  const env = Deno.env.get("PROPERTY_SEED");
  const seed = env !== undefined && env !== "" ? Number(env) : fallback;
  console.log(`property seed: ${seed} (override with PROPERTY_SEED=...)`);
  return seed;
}

export function propertyRuns(fallback: number): number {
  const env = Deno.env.get("PROPERTY_RUNS");
  return env !== undefined && env !== "" ? Number(env) : fallback;
}
