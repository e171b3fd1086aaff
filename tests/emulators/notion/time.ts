// Time helpers without dependencies: Notion's minute-rounded timestamps, IANA zone offsets via
// Intl.DateTimeFormat, and ISO-8601 parsing/rendering for date property values.
// Invariants: timestamps are rendered as UTC "YYYY-MM-DDTHH:MM:00.000Z" (seconds always zero);
// datetimes in date properties are rendered "YYYY-MM-DDTHH:MM:SS.sss±HH:MM".

const MINUTE_MS = 60_000;

/** Floor an instant to the whole minute (Notion rounds created/last_edited times down). */
export function floorToMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

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

/** Offset of a zone at an instant, in minutes (local wall clock minus UTC). */
export function zoneOffsetMinutes(ms: number, tz: string): number {
  const whole = Math.floor(ms / 1000) * 1000;
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(new Date(whole))) {
    if (part.type !== "literal") p[part.type] = Number(part.value);
  }
  const local = Date.UTC(p.year, p.month - 1, p.day, p.hour % 24, p.minute, p.second);
  return Math.round((local - whole) / MINUTE_MS);
}

/**
 * Offset (minutes) that a wall-clock time in a zone carries. Two passes settle DST edges; a
 * wall time inside a spring-forward gap takes the offset in force after the gap.
 */
export function offsetForWallTime(wallAsUtcMs: number, tz: string): number {
  let offset = zoneOffsetMinutes(wallAsUtcMs, tz);
  offset = zoneOffsetMinutes(wallAsUtcMs - offset * MINUTE_MS, tz);
  return offset;
}

export function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  return `${sign}${hh}:${mm}`;
}

/** Parsed ISO-8601 date or datetime as Notion accepts them in date properties and filters. */
export interface IsoValue {
  /** "YYYY-MM-DD" of the wall clock as written. */
  date: string;
  /** Present for datetimes: "HH:MM:SS.sss" of the wall clock as written. */
  time?: string;
  /** Offset in minutes when the text carried one ("Z" = 0). */
  offsetMinutes?: number;
  /** The wall clock read as if it were UTC (ms); subtract the offset to get the instant. */
  wallMs: number;
}

const ISO = new RegExp(
  "^(\\d{4})-(\\d{2})-(\\d{2})" + // date
    "(?:[Tt ](\\d{2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?" + // optional time
    "(Z|z|[+-]\\d{2}(?::?\\d{2})?)?)?$", // optional offset
);

export function parseIso(text: string): IsoValue | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const dayMs = Date.UTC(y, mo - 1, d);
  const check = new Date(dayMs);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return undefined;
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  if (m[4] === undefined) return { date, wallMs: dayMs };
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (h > 23 || mi > 59 || s > 59) return undefined;
  const msPart = Number((m[7] ?? "0").padEnd(3, "0").slice(0, 3));
  const wallMs = dayMs + ((h * 60 + mi) * 60 + s) * 1000 + msPart;
  const time = `${m[4]}:${m[5]}:${String(s).padStart(2, "0")}.${String(msPart).padStart(3, "0")}`;
  const value: IsoValue = { date, time, wallMs };
  if (m[8] !== undefined) {
    if (m[8] === "Z" || m[8] === "z") value.offsetMinutes = 0;
    else {
      const digits = m[8].slice(1).replace(":", "");
      const oh = Number(digits.slice(0, 2));
      const om = Number(digits.slice(2) || "0");
      if (oh > 23 || om > 59) return undefined;
      value.offsetMinutes = (m[8][0] === "-" ? -1 : 1) * (oh * 60 + om);
    }
  }
  return value;
}

/** The instant an IsoValue denotes; date-only values and offset-less times are read as UTC. */
export function instantOf(v: IsoValue): number {
  return v.wallMs - (v.offsetMinutes ?? 0) * MINUTE_MS;
}
