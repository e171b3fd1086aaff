// Time helpers without dependencies: RFC 3339 parsing, IANA zone conversion through
// Intl.DateTimeFormat, and the formats Google uses (instance id suffixes, HTTP-date).

export interface EventTime {
  date?: string;
  dateTime?: string;
  timeZone?: string;
}

const DAY_MS = 86_400_000;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(tz, f);
  }
  return f;
}

export function isValidTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

export interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

/** Wall-clock parts of an instant in a zone. */
export function zonedParts(ms: number, tz: string): Parts {
  if (tz === "UTC" || tz === "Etc/UTC") {
    const dt = new Date(ms);
    return {
      y: dt.getUTCFullYear(),
      mo: dt.getUTCMonth() + 1,
      d: dt.getUTCDate(),
      h: dt.getUTCHours(),
      mi: dt.getUTCMinutes(),
      s: dt.getUTCSeconds(),
    };
  }
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  return { y: p.year, mo: p.month, d: p.day, h: p.hour % 24, mi: p.minute, s: p.second };
}

/** Offset (ms) of a zone at an instant: local wall clock minus UTC. */
export function zoneOffsetMs(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const p = zonedParts(whole, tz);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - whole;
}

/** Instant of a wall-clock time in a zone (two-pass, good enough around DST changes). */
export function localToUtc(p: Parts, tz: string): number {
  const guess = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
  if (tz === "UTC" || tz === "Etc/UTC") return guess;
  const first = guess - zoneOffsetMs(guess, tz);
  const second = guess - zoneOffsetMs(first, tz);
  return second;
}

/** Parse RFC 3339; with requireOffset, a missing offset is an error (as Google's timeMin). */
export function parseRfc3339(s: string, requireOffset = true): number | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  if (!m[8] && requireOffset) return undefined;
  const ms = Date.parse(m[8] ? s : s + "Z");
  return Number.isNaN(ms) ? undefined : ms;
}

/** Parse YYYY-MM-DD into parts (midnight). */
export function parseDate(s: string): Parts | undefined {
  const m = DATE.exec(s);
  if (!m) return undefined;
  const p = { y: Number(m[1]), mo: Number(m[2]), d: Number(m[3]), h: 0, mi: 0, s: 0 };
  const check = new Date(Date.UTC(p.y, p.mo - 1, p.d));
  if (check.getUTCMonth() !== p.mo - 1 || check.getUTCDate() !== p.d) return undefined;
  return p;
}

export type ParsedTime = { ms: number; allDay: boolean } | { error: string };

/**
 * Resolve an event start/end to an instant. All-day dates are midnight in the calendar's zone;
 * a dateTime without offset needs an explicit timeZone (Events resource docs).
 */
export function parseEventTime(t: EventTime, calendarTz: string, which: string): ParsedTime {
  if (t.timeZone !== undefined && !isValidTimeZone(t.timeZone)) {
    return { error: `Invalid time zone definition for ${which} time.` };
  }
  if (t.date !== undefined && t.dateTime !== undefined) {
    return { error: `Invalid ${which} time.` };
  }
  if (t.date !== undefined) {
    const p = parseDate(t.date);
    if (!p) return { error: `Invalid ${which} time.` };
    return { ms: localToUtc(p, calendarTz), allDay: true };
  }
  if (t.dateTime !== undefined) {
    const m = RFC3339.exec(t.dateTime);
    if (!m) return { error: `Invalid ${which} time.` };
    if (m[8]) return { ms: Date.parse(t.dateTime), allDay: false };
    if (!t.timeZone) return { error: `Missing time zone definition for ${which} time.` };
    const p = {
      y: Number(m[1]),
      mo: Number(m[2]),
      d: Number(m[3]),
      h: Number(m[4]),
      mi: Number(m[5]),
      s: Number(m[6]),
    };
    return { ms: localToUtc(p, t.timeZone), allDay: false };
  }
  return { error: `Missing ${which} time.` };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

/** "YYYY-MM-DDTHH:MM:SS+hh:mm" in a zone ("Z" for UTC), as Google formats instance times. */
export function formatInZone(ms: number, tz: string): string {
  const p = zonedParts(ms, tz);
  const off = Math.round(zoneOffsetMs(ms, tz) / 60000);
  const local = `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;
  if (off === 0) return local + "Z";
  const sign = off < 0 ? "-" : "+";
  return `${local}${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

/** Instance-id suffix for timed instances: YYYYMMDDTHHMMSSZ (UTC). */
export function compactUtc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** Day number (days since epoch) of a civil date, for calendar arithmetic. */
export function dayNumber(p: { y: number; mo: number; d: number }): number {
  return Math.floor(Date.UTC(p.y, p.mo - 1, p.d) / DAY_MS);
}

export function dayToParts(day: number): { y: number; mo: number; d: number; dow: number } {
  const dt = new Date(day * DAY_MS);
  return {
    y: dt.getUTCFullYear(),
    mo: dt.getUTCMonth() + 1,
    d: dt.getUTCDate(),
    dow: dt.getUTCDay(),
  };
}

export function dayToDateString(day: number): string {
  const p = dayToParts(day);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
}

export function dayToCompact(day: number): string {
  return dayToDateString(day).replaceAll("-", "");
}

/** HTTP-date (IMF-fixdate), e.g. "Tue, 19 Nov 2013 01:13:52 GMT". */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

export { DAY_MS };
