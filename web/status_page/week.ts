// The week view's geometry: seven days from a start date in the user's planning time zone, each
// with its busy time and planned blocks placed by wall-clock minutes (items crossing midnight
// are cut at it), side by side where they overlap, and the hours worth showing. Pure: the page
// draws what this returns.
import { Temporal } from "temporal-polyfill";
import type { PlannedSession, ProviderName, Schedule } from "../client/mod.ts";

export const DAYS_SHOWN = 7;
/** Always shown (a typical working day); widened to fit what the week holds. */
const DEFAULT_HOURS = { first: 8, last: 18 };

/** One thing to draw: busy time from a provider, or a planned block of a session. */
export type WeekEntry =
  | {
    kind: "busy";
    id: string;
    provider: ProviderName;
    title: string | null;
    tentative: boolean;
    startsAt: string;
    endsAt: string;
  }
  | {
    kind: "block";
    sessionId: string;
    index: number;
    title: string;
    locked: boolean;
    moved: boolean;
    movedAt: string | null;
    startsAt: string;
    endsAt: string;
  };

/** Where an entry's piece of one day goes. */
export interface Placement {
  /** "09:00", or "Tue 23:00" when the entry starts (ends) on another day than this piece. */
  startLabel: string;
  endLabel: string;
  /** Percent of the visible hours from the top, and of their height. */
  top: number;
  height: number;
  /** Overlapping pieces share the day's width: this one's column out of `lanes`. */
  lane: number;
  lanes: number;
}

export type WeekItem = WeekEntry & Placement;

export interface WeekDay {
  /** ISO date, e.g. 2026-11-30. */
  date: string;
  /** "Mon, Nov 30". */
  label: string;
  today: boolean;
  items: WeekItem[];
}

export interface WeekLayout {
  timeZone: string;
  /** "Nov 30 – Dec 6, 2026". */
  label: string;
  firstHour: number;
  lastHour: number;
  days: WeekDay[];
}

export interface WeekWindow {
  start: Temporal.PlainDate;
  from: Date;
  to: Date;
}

function startOfDay(date: Temporal.PlainDate, timeZone: string): number {
  return date.toZonedDateTime({ timeZone }).epochMilliseconds;
}

/** The seven days starting today (plus `offsetWeeks` weeks) in `timeZone`, as instants. */
export function weekWindow(timeZone: string, now: number, offsetWeeks = 0): WeekWindow {
  const today = Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone)
    .toPlainDate();
  const start = today.add({ days: DAYS_SHOWN * offsetWeeks });
  return {
    start,
    from: new Date(startOfDay(start, timeZone)),
    to: new Date(startOfDay(start.add({ days: DAYS_SHOWN }), timeZone)),
  };
}

interface Piece {
  entry: WeekEntry;
  startMinute: number;
  endMinute: number;
}

function minuteOfDay(epochMs: number, timeZone: string): number {
  const time = Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone);
  return time.hour * 60 + time.minute + time.second / 60;
}

function timeLabel(epochMs: number, day: Temporal.PlainDate, timeZone: string): string {
  const time = Temporal.Instant.fromEpochMilliseconds(epochMs).toZonedDateTimeISO(timeZone);
  const clock = time.toPlainTime().toString({ smallestUnit: "minute" });
  return Temporal.PlainDate.compare(time.toPlainDate(), day) === 0
    ? clock
    : `${time.toPlainDate().toLocaleString("en-US", { weekday: "short" })} ${clock}`;
}

function entriesOf(schedule: Schedule): WeekEntry[] {
  const busy = schedule.busy.map((interval): WeekEntry => ({
    kind: "busy" as const,
    id: interval.id,
    provider: interval.provider,
    title: interval.title,
    tentative: interval.tentative,
    startsAt: interval.starts_at,
    endsAt: interval.ends_at,
  }));
  const blocks = schedule.sessions.flatMap((session: PlannedSession) =>
    session.blocks.map((block): WeekEntry => ({
      kind: "block" as const,
      sessionId: session.id,
      index: block.index,
      title: session.title,
      locked: session.locked,
      moved: block.moved,
      movedAt: block.moved_at,
      startsAt: block.starts_at,
      endsAt: block.ends_at,
    }))
  );
  return [...busy, ...blocks];
}

/** Greedy lanes: each piece takes the first column free at its start. */
function assignLanes(pieces: Piece[]): { lane: number; lanes: number }[] {
  const order = pieces.map((_, index) => index).sort((a, b) =>
    pieces[a].startMinute - pieces[b].startMinute || pieces[b].endMinute - pieces[a].endMinute
  );
  const laneEnds: number[] = [];
  const lanes: number[] = new Array(pieces.length);
  for (const index of order) {
    const free = laneEnds.findIndex((end) => end <= pieces[index].startMinute);
    const lane = free === -1 ? laneEnds.length : free;
    laneEnds[lane] = pieces[index].endMinute;
    lanes[index] = lane;
  }
  return lanes.map((lane) => ({ lane, lanes: Math.max(1, laneEnds.length) }));
}

export function layoutWeek(
  schedule: Schedule,
  window: WeekWindow,
  timeZone: string,
  now: number,
): WeekLayout {
  const today = Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone)
    .toPlainDate();
  const entries = entriesOf(schedule);
  const dayPieces: { date: Temporal.PlainDate; pieces: Piece[] }[] = [];
  let firstHour = DEFAULT_HOURS.first;
  let lastHour = DEFAULT_HOURS.last;
  for (let offset = 0; offset < DAYS_SHOWN; offset++) {
    const date = window.start.add({ days: offset });
    const dayStart = startOfDay(date, timeZone);
    const dayEnd = startOfDay(date.add({ days: 1 }), timeZone);
    const pieces: Piece[] = [];
    for (const entry of entries) {
      const start = Math.max(Date.parse(entry.startsAt), dayStart);
      const end = Math.min(Date.parse(entry.endsAt), dayEnd);
      if (end <= start) continue;
      const startMinute = minuteOfDay(start, timeZone);
      const endMinute = end === dayEnd ? 24 * 60 : minuteOfDay(end, timeZone);
      pieces.push({ entry, startMinute, endMinute: Math.max(endMinute, startMinute + 1) });
      firstHour = Math.min(firstHour, Math.floor(startMinute / 60));
      lastHour = Math.max(lastHour, Math.ceil(endMinute / 60));
    }
    dayPieces.push({ date, pieces });
  }
  const visibleMinutes = (lastHour - firstHour) * 60;
  const days = dayPieces.map(({ date, pieces }): WeekDay => {
    const lanes = assignLanes(pieces);
    return {
      date: date.toString(),
      label: date.toLocaleString("en-US", { weekday: "short", month: "short", day: "numeric" }),
      today: Temporal.PlainDate.compare(date, today) === 0,
      items: pieces
        .map((piece, index): WeekItem => ({
          ...piece.entry,
          startLabel: timeLabel(Date.parse(piece.entry.startsAt), date, timeZone),
          endLabel: timeLabel(Date.parse(piece.entry.endsAt), date, timeZone),
          top: ((piece.startMinute - firstHour * 60) / visibleMinutes) * 100,
          height: ((piece.endMinute - piece.startMinute) / visibleMinutes) * 100,
          ...lanes[index],
        }))
        .sort((a, b) => a.top - b.top || a.lane - b.lane),
    };
  });
  const last = window.start.add({ days: DAYS_SHOWN - 1 });
  const label = `${window.start.toLocaleString("en-US", { month: "short", day: "numeric" })} – ${
    last.toLocaleString("en-US", { month: "short", day: "numeric", year: "numeric" })
  }`;
  return { timeZone, label, firstHour, lastHour, days };
}
