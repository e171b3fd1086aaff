// Minimal RFC 5545 recurrence expansion: RRULE FREQ=DAILY|WEEKLY|MONTHLY|YEARLY with COUNT,
// UNTIL, INTERVAL and (DAILY/WEEKLY) BYDAY, plus EXDATE. Instances are generated in the
// series' wall-clock zone so that DST shifts keep the local time, like Google does.
// Expansion is capped (default two years after the first instance) to stay cheap.

import {
  compactUtc,
  dayNumber,
  dayToCompact,
  dayToDateString,
  dayToParts,
  type EventTime,
  formatInZone,
  localToUtc,
  parseDate,
  zonedParts,
} from "./time.ts";

const WEEKDAYS: Record<string, number> = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };
const MAX_INSTANCES = 5000;

export interface Rule {
  freq: "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY";
  interval: number;
  count?: number;
  /** UNTIL with a time part, as an instant. */
  untilMs?: number;
  /** UNTIL as a bare date (inclusive), as a day number. */
  untilDay?: number;
  byDay?: number[];
  /** EXDATE values: instants for timed series, day numbers for all-day ones. */
  exInstants: Set<number>;
  exDays: Set<number>;
}

export interface Occurrence {
  /** Suffix of the instance id: YYYYMMDDTHHMMSSZ (timed) or YYYYMMDD (all-day). */
  key: string;
  startMs: number;
  endMs: number;
  start: EventTime;
  end: EventTime;
}

function parseStamp(v: string, tz: string): { ms?: number; day?: number } | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(v);
  if (!m) return undefined;
  const p = { y: +m[1], mo: +m[2], d: +m[3], h: +(m[4] ?? 0), mi: +(m[5] ?? 0), s: +(m[6] ?? 0) };
  if (m[4] === undefined) return { day: dayNumber(p) };
  return { ms: m[7] ? Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) : localToUtc(p, tz) };
}

/** Parse the `recurrence` array. Returns an error message for anything unsupported. */
export function parseRecurrence(lines: string[], tz: string): Rule | { error: string } {
  let rule: Rule | undefined;
  const exInstants = new Set<number>();
  const exDays = new Set<number>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon < 0) return { error: "Invalid recurrence rule." };
    const head = line.slice(0, colon).toUpperCase();
    const value = line.slice(colon + 1);
    const name = head.split(";")[0];
    if (name === "RRULE") {
      if (rule) return { error: "Only one RRULE is supported." };
      const parts = new Map<string, string>();
      for (const kv of value.split(";")) {
        const [k, v] = kv.split("=");
        if (!k || v === undefined) return { error: "Invalid recurrence rule." };
        parts.set(k.toUpperCase(), v.toUpperCase());
      }
      const freq = parts.get("FREQ");
      if (freq !== "DAILY" && freq !== "WEEKLY" && freq !== "MONTHLY" && freq !== "YEARLY") {
        return { error: "Invalid recurrence rule." };
      }
      const interval = Number(parts.get("INTERVAL") ?? "1");
      if (!Number.isInteger(interval) || interval < 1) return { error: "Invalid recurrence rule." };
      rule = { freq, interval, exInstants, exDays };
      if (parts.has("COUNT")) {
        const count = Number(parts.get("COUNT"));
        if (!Number.isInteger(count) || count < 1) return { error: "Invalid recurrence rule." };
        rule.count = count;
      }
      if (parts.has("UNTIL")) {
        const u = parseStamp(parts.get("UNTIL")!, tz);
        if (!u) return { error: "Invalid recurrence rule." };
        rule.untilMs = u.ms;
        rule.untilDay = u.day;
      }
      if (parts.has("BYDAY")) {
        if (freq === "MONTHLY" || freq === "YEARLY") return { error: "Unsupported BYDAY." };
        const days = parts.get("BYDAY")!.split(",").map((d) => WEEKDAYS[d]);
        if (days.some((d) => d === undefined)) return { error: "Invalid recurrence rule." };
        rule.byDay = days;
      }
    } else if (name === "EXDATE") {
      const tzid = /TZID=([^;]+)/.exec(line.slice(0, colon))?.[1] ?? tz;
      for (const v of value.split(",")) {
        const s = parseStamp(v.trim(), tzid);
        if (!s) return { error: "Invalid EXDATE." };
        if (s.ms !== undefined) exInstants.add(s.ms);
        if (s.day !== undefined) exDays.add(s.day);
      }
    } else if (name !== "RDATE" && name !== "EXRULE") {
      return { error: "Invalid recurrence rule." };
    }
    // RDATE/EXRULE are accepted and ignored: keeps the emulator small.
  }
  if (!rule) return { error: "Missing RRULE." };
  return rule;
}

export interface SeriesInput {
  rule: Rule;
  allDay: boolean;
  startMs: number;
  endMs: number;
  start: EventTime;
  end: EventTime;
  calendarTz: string;
  capMs: number;
}

/** Generate the occurrences of a series, in chronological order. */
export function expandSeries(s: SeriesInput): Occurrence[] {
  const { rule } = s;
  const tz = s.start.timeZone ?? s.calendarTz;
  const endTz = s.end.timeZone ?? tz;
  const out: Occurrence[] = [];
  let day0: number;
  let durDays = 0;
  let wall = { h: 0, mi: 0, s: 0 };
  if (s.allDay) {
    day0 = dayNumber(parseDate(s.start.date!)!);
    durDays = dayNumber(parseDate(s.end.date!)!) - day0;
  } else {
    const p = zonedParts(s.startMs, tz);
    day0 = dayNumber(p);
    wall = { h: p.h, mi: p.mi, s: p.s };
  }
  const durMs = s.endMs - s.startMs;
  const limitMs = s.startMs + s.capMs;
  const lastDay = day0 + Math.ceil(s.capMs / 86_400_000) + 1;
  let n = 0;

  /** Returns false once the series is exhausted. */
  const emit = (day: number): boolean => {
    const dp = dayToParts(day);
    const startMs = s.allDay
      ? localToUtc({ ...dp, h: 0, mi: 0, s: 0 }, s.calendarTz)
      : localToUtc({ ...dp, ...wall }, tz);
    if (startMs > limitMs || out.length >= MAX_INSTANCES) return false;
    if (rule.untilMs !== undefined && startMs > rule.untilMs) return false;
    if (rule.untilDay !== undefined && day > rule.untilDay) return false;
    n++;
    if (rule.count !== undefined && n > rule.count) return false;
    // COUNT counts generated dates; EXDATE removes afterwards (RFC 5545 §3.8.5.1).
    if (s.allDay ? rule.exDays.has(day) : rule.exInstants.has(startMs)) return true;
    if (s.allDay) {
      out.push({
        key: dayToCompact(day),
        startMs,
        endMs: localToUtc({ ...dayToParts(day + durDays), h: 0, mi: 0, s: 0 }, s.calendarTz),
        start: { date: dayToDateString(day) },
        end: { date: dayToDateString(day + durDays) },
      });
    } else {
      const start: EventTime = { dateTime: formatInZone(startMs, tz) };
      if (s.start.timeZone) start.timeZone = s.start.timeZone;
      const end: EventTime = { dateTime: formatInZone(startMs + durMs, endTz) };
      if (s.end.timeZone) end.timeZone = s.end.timeZone;
      out.push({ key: compactUtc(startMs), startMs, endMs: startMs + durMs, start, end });
    }
    return true;
  };

  const dow0 = dayToParts(day0).dow;
  switch (rule.freq) {
    case "DAILY":
      for (let day = day0; day <= lastDay; day += rule.interval) {
        if (rule.byDay && !rule.byDay.includes(dayToParts(day).dow)) continue;
        if (!emit(day)) break;
      }
      break;
    case "WEEKLY": {
      const monday = day0 - ((dow0 + 6) % 7);
      const days = [...new Set(rule.byDay ?? [dow0])].map((d) => (d + 6) % 7).sort((a, b) => a - b);
      outer: for (let week = monday; week <= lastDay; week += 7 * rule.interval) {
        for (const off of days) {
          if (week + off < day0) continue;
          if (!emit(week + off)) break outer;
        }
      }
      break;
    }
    case "MONTHLY":
    case "YEARLY": {
      const p0 = dayToParts(day0);
      const step = rule.freq === "MONTHLY" ? rule.interval : 12 * rule.interval;
      for (let m = 0;; m += step) {
        const monthIndex = p0.y * 12 + (p0.mo - 1) + m;
        const y = Math.floor(monthIndex / 12);
        const mo = (monthIndex % 12) + 1;
        const day = dayNumber({ y, mo, d: p0.d });
        if (day > lastDay) break;
        if (dayToParts(day).d !== p0.d) continue; // e.g. the 31st in a 30-day month is skipped
        if (!emit(day)) break;
      }
      break;
    }
  }
  return out;
}
