// Date property values. Writing: {start, end?, time_zone?} where start/end are ISO dates or
// datetimes; with a time_zone they must carry a time and no offset. Reading: Notion always
// answers time_zone: null and renders the offset into start/end ("...T09:00:00.000+01:00");
// date-only values (all-day) stay "YYYY-MM-DD". Offset-less datetimes without a zone are UTC.
// Invariant: a stored value is {start, end, time_zone: null} with start/end of the same kind.

import {
  formatOffset,
  instantOf,
  type IsoValue,
  isValidTimeZone,
  parseIso,
  zoneOffsetMinutes,
} from "./time.ts";
import { isRecord } from "./util.ts";

export interface StoredDate {
  start: string;
  end: string | null;
  time_zone: null;
}

/** Render a parsed datetime with its offset: explicit, from the zone, or UTC. */
function renderDateTime(v: IsoValue, tz: string | null): string {
  let instant = instantOf(v);
  let offset = v.offsetMinutes ?? 0;
  if (tz !== null) {
    // Wall time in the zone -> instant (two passes settle DST edges) -> wall time again.
    const first = zoneOffsetMinutes(v.wallMs, tz);
    instant = v.wallMs - zoneOffsetMinutes(v.wallMs - first * 60_000, tz) * 60_000;
    offset = zoneOffsetMinutes(instant, tz);
  }
  const wall = new Date(instant + offset * 60_000).toISOString().slice(0, 23);
  return `${wall}${formatOffset(offset)}`;
}

/**
 * Validate and normalise a date property write. Returns the stored value, null (cleared) or an
 * error message (400 validation_error).
 */
export function parseDateWrite(input: unknown, path: string): StoredDate | null | string {
  if (input === null) return null;
  if (!isRecord(input)) return `${path} should be an object or \`null\`.`;
  const tzRaw = input.time_zone ?? null;
  if (tzRaw !== null && (typeof tzRaw !== "string" || !isValidTimeZone(tzRaw))) {
    return `${path}.time_zone should be a valid IANA time zone, instead was \`${
      JSON.stringify(tzRaw)
    }\`.`;
  }
  const tz = tzRaw as string | null;
  const one = (key: "start" | "end"): IsoValue | string | undefined => {
    const raw = input[key];
    if (raw === undefined || raw === null) return undefined;
    const v = typeof raw === "string" ? parseIso(raw) : undefined;
    if (!v) return `${path}.${key} should be a valid ISO 8601 date string.`;
    if (tz !== null && v.time === undefined) {
      return `${path}.${key} must include a time when time_zone is provided.`;
    }
    if (tz !== null && v.offsetMinutes !== undefined) {
      return `${path}.${key} must not include an offset when time_zone is provided.`;
    }
    return v;
  };
  const start = one("start");
  if (start === undefined) return `${path}.start should be defined, instead was \`undefined\`.`;
  if (typeof start === "string") return start;
  const end = one("end");
  if (typeof end === "string") return end;
  if (end !== undefined) {
    if ((end.time === undefined) !== (start.time === undefined)) {
      return `${path}.end must be a date when start is a date, and a datetime when start is one.`;
    }
    if (instantOf(end) < instantOf(start) && tz === null) {
      return `${path}.end must not be before ${path}.start.`;
    }
    if (tz !== null && end.wallMs < start.wallMs) {
      return `${path}.end must not be before ${path}.start.`;
    }
  }
  const render = (v: IsoValue) => (v.time === undefined ? v.date : renderDateTime(v, tz));
  return { start: render(start), end: end ? render(end) : null, time_zone: null };
}

/** Instant of a stored date's start (date-only = UTC midnight). */
export function dateStartMs(d: StoredDate): number {
  return instantOf(parseIso(d.start)!);
}

/** The calendar day of a stored date's start as written ("YYYY-MM-DD"). */
export function dateStartDay(d: StoredDate): string {
  return d.start.slice(0, 10);
}
