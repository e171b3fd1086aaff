/**
 * Working windows per local date in the user's IANA time zone, as UTC epoch-ms intervals.
 *
 * DST behaviour (pinned by tests):
 * - Every "HH:MM" wall time is resolved with `disambiguation: "compatible"` (RFC 5545 / the
 *   behaviour of `Date`): a non-existent local time (spring-forward gap) is moved forward by the
 *   length of the gap (02:30 → 03:30 in America/New_York on 2026-03-08); an ambiguous local time
 *   (fall-back overlap) resolves to the earlier instant (01:30 → 01:30 EDT on 2026-11-01).
 * - Windows are therefore as long as the real time between their resolved bounds: 09:00–17:00 is
 *   8 h on a transition day; 01:00–04:00 is 2 h on spring-forward day and 4 h on fall-back day.
 * - A range whose bounds both fall in the gap (e.g. 02:00–02:30 on spring-forward day) becomes
 *   03:00–03:30; one that collapses (02:30–03:00 → 03:30–03:00) is empty and dropped.
 * - `"24:00"` (end only) is the start of the next local day (also resolved "compatible").
 *
 * Speed: Temporal is only used to find the zone's offset transitions around the horizon and for
 * days within ±1 day of a transition; every other day is computed with integer arithmetic.
 */
import { Temporal } from "temporal-polyfill";
import { clip, normalize } from "./intervals.ts";
import {
  DAY_MS,
  type Interval,
  MINUTE_MS,
  ScheduleInputError,
  type TimeRange,
  type Weekday,
} from "./types.ts";

/** ISO weekday order (Temporal `dayOfWeek` 1 = Monday ... 7 = Sunday). */
export const WEEKDAYS: readonly Weekday[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const HHMM = /^([01]\d|2[0-4]):([0-5]\d)$/;

/** Parses `"HH:MM"` into minutes since local midnight; `"24:00"` only when `allow2400`. */
export function parseTimeOfDay(value: string, allow2400: boolean): number {
  const m = HHMM.exec(value);
  if (m === null) throw new ScheduleInputError(`malformed time of day "${value}" (want HH:MM)`);
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  if (minutes > 1440 || (minutes === 1440 && !allow2400)) {
    throw new ScheduleInputError(`time of day "${value}" out of range`);
  }
  return minutes;
}

/** Parsed ranges per ISO weekday index 0 (mon) .. 6 (sun), in minutes. */
export type ParsedWorkingHours = { start: number; end: number }[][];

export function parseWorkingHours(
  hours: Partial<Record<Weekday, TimeRange[]>>,
): ParsedWorkingHours {
  return WEEKDAYS.map((day) => {
    const ranges = hours[day] ?? [];
    return ranges.map((r) => {
      const start = parseTimeOfDay(r.start, false);
      const end = parseTimeOfDay(r.end, true);
      if (end <= start) {
        throw new ScheduleInputError(
          `working hours ${day} ${r.start}-${r.end}: end must be after start`,
        );
      }
      return { start, end };
    }).sort((a, b) => a.start - b.start || a.end - b.end);
  });
}

/** Throws {@link ScheduleInputError} unless `timeZone` is a valid IANA zone id. */
export function assertTimeZone(timeZone: string): void {
  try {
    Temporal.Instant.fromEpochMilliseconds(0).toZonedDateTimeISO(timeZone);
  } catch {
    throw new ScheduleInputError(`unknown time zone "${timeZone}"`);
  }
}

/**
 * The instant of a local wall time, `disambiguation: "compatible"`. `minutes` may be 1440
 * (= next day 00:00).
 */
export function localTimeToEpochMs(
  date: Temporal.PlainDate,
  minutes: number,
  timeZone: string,
): number {
  let d = date;
  let m = minutes;
  if (m >= 1440) {
    d = d.add({ days: 1 });
    m -= 1440;
  }
  const pdt = new Temporal.PlainDateTime(d.year, d.month, d.day, Math.floor(m / 60), m % 60);
  return pdt.toZonedDateTime(timeZone, { disambiguation: "compatible" }).epochMilliseconds;
}

function zoned(epochMs: number, timeZone: string): Temporal.ZonedDateTime {
  return Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone);
}

function epochDayOf(date: Temporal.PlainDate): number {
  return Date.UTC(date.year, date.month - 1, date.day) / DAY_MS;
}

/**
 * Working windows intersecting `[from, to)`, normalised (sorted, adjacent/overlapping merged —
 * so 09:00–12:00 + 12:00–17:00 is one window, and Mon 24:00 / Tue 00:00 joins across midnight)
 * and clipped to `[from, to)`.
 */
export function workingWindows(
  timeZone: string,
  hours: ParsedWorkingHours,
  from: number,
  to: number,
): Interval[] {
  if (!(to > from)) return [];
  const fromZ = zoned(from, timeZone);
  const toZ = zoned(to, timeZone);
  const firstDay = epochDayOf(fromZ.toPlainDate());
  const lastDay = epochDayOf(toZ.toPlainDate());

  // Offset transitions in [from - 2d, to + 2d] and the offset in effect from each one on.
  const transitions: number[] = [];
  const offsets: number[] = [];
  let cursor = zoned(from - 2 * DAY_MS, timeZone);
  const initialOffset = cursor.offsetNanoseconds / 1e6;
  const scanEnd = to + 2 * DAY_MS;
  for (;;) {
    const next = cursor.getTimeZoneTransition("next");
    if (next === null || next.epochMilliseconds > scanEnd) break;
    transitions.push(next.epochMilliseconds);
    offsets.push(next.offsetNanoseconds / 1e6);
    cursor = next;
  }

  const raw: Interval[] = [];
  let ti = 0; // first transition not yet passed by the current day's wall start
  for (let day = firstDay; day <= lastDay; day++) {
    const ranges = hours[(((day + 3) % 7) + 7) % 7]; // 1970-01-01 was a Thursday (index 3)
    if (ranges.length === 0) continue;
    const wall = day * DAY_MS;
    while (ti < transitions.length && transitions[ti] < wall - DAY_MS) ti++;
    const nearTransition = ti < transitions.length && transitions[ti] <= wall + 2 * DAY_MS;
    if (!nearTransition) {
      // No transition within [wall - 1d, wall + 2d]: one constant offset covers the whole day.
      const offset = ti === 0 ? initialOffset : offsets[ti - 1];
      const base = wall - offset;
      for (const r of ranges) {
        raw.push({ start: base + r.start * MINUTE_MS, end: base + r.end * MINUTE_MS });
      }
    } else {
      const date = Temporal.PlainDate.from(new Date(wall).toISOString().slice(0, 10));
      for (const r of ranges) {
        const start = localTimeToEpochMs(date, r.start, timeZone);
        const end = localTimeToEpochMs(date, r.end, timeZone);
        if (end > start) raw.push({ start, end });
      }
    }
  }
  return clip(normalize(raw), from, to);
}
