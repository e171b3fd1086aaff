// Query filters and sorts for data-source queries: timestamp filters (created_time /
// last_edited_time), property filters (date, checkbox, title/rich_text/url, number, select) and
// compound and/or nested at most two levels deep; sorts by timestamp or property.
// Invariants: timestamps are compared at their minute-rounded value (what the API returns);
// a date-only filter value compares calendar days, a datetime compares instants; empty values
// sort last in both directions; ties are broken by page id so results are deterministic.

import { dateStartDay, dateStartMs, type StoredDate } from "./dates.ts";
import { findProperty, plainText } from "./properties.ts";
import type { DataSource, Page, PropertySchema } from "./store.ts";
import { floorToMinute, instantOf, parseIso, toIso } from "./time.ts";
import { isRecord } from "./util.ts";

export type Predicate = (page: Page) => boolean;
export type Comparator = (a: Page, b: Page) => number;

interface DateOperand {
  ms: number;
  day: string;
}

const DAY_MS = 86_400_000;
const TIMESTAMPS = ["created_time", "last_edited_time"] as const;
type Timestamp = (typeof TIMESTAMPS)[number];

function timestampOf(page: Page, which: Timestamp): number {
  return floorToMinute(which === "created_time" ? page.createdMs : page.editedMs);
}

function onlyKey(obj: Record<string, unknown>, at: string): [string, unknown] | string {
  const entries = Object.entries(obj);
  if (entries.length !== 1) return `${at} should have exactly one condition.`;
  return entries[0];
}

function shiftMonths(ms: number, months: number): number {
  const d = new Date(ms);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.getTime();
}

const RELATIVE: Record<string, (now: number) => [number, number]> = {
  past_week: (now) => [now - 7 * DAY_MS, now],
  past_month: (now) => [shiftMonths(now, -1), now],
  past_year: (now) => [shiftMonths(now, -12), now],
  next_week: (now) => [now, now + 7 * DAY_MS],
  next_month: (now) => [now, shiftMonths(now, 1)],
  next_year: (now) => [now, shiftMonths(now, 12)],
};

/** A date condition ({on_or_after: ISO}, {is_empty: true}, {past_week: {}}, ...). */
function dateCondition(
  cond: unknown,
  at: string,
  nowMs: number,
): ((v: DateOperand | null) => boolean) | string {
  if (!isRecord(cond)) return `${at} should be an object.`;
  const kv = onlyKey(cond, at);
  if (typeof kv === "string") return kv;
  const [op, value] = kv;
  if (op === "is_empty" || op === "is_not_empty") {
    if (value !== true) return `${at}.${op} should be \`true\`.`;
    return op === "is_empty" ? (v) => v === null : (v) => v !== null;
  }
  if (op in RELATIVE) {
    const [from, to] = RELATIVE[op](nowMs);
    return (v) => v !== null && v.ms >= from && v.ms <= to;
  }
  const cmp = ["equals", "before", "after", "on_or_before", "on_or_after"];
  if (!cmp.includes(op)) return `${at}.${op} is not a supported date condition.`;
  const iso = typeof value === "string" ? parseIso(value) : undefined;
  if (!iso) return `${at}.${op} should be a valid ISO 8601 date string.`;
  const dayOnly = iso.time === undefined;
  const target = instantOf(iso);
  const compare = (v: DateOperand) =>
    dayOnly ? v.day.localeCompare(iso.date) : Math.sign(v.ms - target);
  const test: Record<string, (c: number) => boolean> = {
    equals: (c) => c === 0,
    before: (c) => c < 0,
    after: (c) => c > 0,
    on_or_before: (c) => c <= 0,
    on_or_after: (c) => c >= 0,
  };
  return (v) => v !== null && test[op](compare(v));
}

function textCondition(cond: unknown, at: string): ((text: string) => boolean) | string {
  if (!isRecord(cond)) return `${at} should be an object.`;
  const kv = onlyKey(cond, at);
  if (typeof kv === "string") return kv;
  const [op, value] = kv;
  if (op === "is_empty" || op === "is_not_empty") {
    if (value !== true) return `${at}.${op} should be \`true\`.`;
    return op === "is_empty" ? (t) => t === "" : (t) => t !== "";
  }
  if (typeof value !== "string") return `${at}.${op} should be a string.`;
  const lower = value.toLowerCase();
  const ops: Record<string, (t: string) => boolean> = {
    equals: (t) => t === value,
    does_not_equal: (t) => t !== value,
    contains: (t) => t.toLowerCase().includes(lower),
    does_not_contain: (t) => !t.toLowerCase().includes(lower),
    starts_with: (t) => t.toLowerCase().startsWith(lower),
    ends_with: (t) => t.toLowerCase().endsWith(lower),
  };
  return ops[op] ?? `${at}.${op} is not a supported text condition.`;
}

function numberCondition(cond: unknown, at: string): ((n: number | null) => boolean) | string {
  if (!isRecord(cond)) return `${at} should be an object.`;
  const kv = onlyKey(cond, at);
  if (typeof kv === "string") return kv;
  const [op, value] = kv;
  if (op === "is_empty" || op === "is_not_empty") {
    if (value !== true) return `${at}.${op} should be \`true\`.`;
    return op === "is_empty" ? (n) => n === null : (n) => n !== null;
  }
  if (typeof value !== "number") return `${at}.${op} should be a number.`;
  const ops: Record<string, (n: number) => boolean> = {
    equals: (n) => n === value,
    does_not_equal: (n) => n !== value,
    greater_than: (n) => n > value,
    less_than: (n) => n < value,
    greater_than_or_equal_to: (n) => n >= value,
    less_than_or_equal_to: (n) => n <= value,
  };
  const f = ops[op];
  if (!f) return `${at}.${op} is not a supported number condition.`;
  return (n) => n !== null && f(n);
}

function booleanCondition(cond: unknown, at: string): ((b: boolean) => boolean) | string {
  if (!isRecord(cond)) return `${at} should be an object.`;
  const kv = onlyKey(cond, at);
  if (typeof kv === "string") return kv;
  const [op, value] = kv;
  if (typeof value !== "boolean") return `${at}.${op} should be a boolean.`;
  if (op === "equals") return (b) => b === value;
  if (op === "does_not_equal") return (b) => b !== value;
  return `${at}.${op} is not a supported checkbox condition.`;
}

/** Filter keys accepted for each property type. */
const FILTER_KEYS: Record<PropertySchema["type"], string[]> = {
  title: ["title", "rich_text"],
  rich_text: ["rich_text", "title"],
  url: ["url", "rich_text"],
  date: ["date"],
  checkbox: ["checkbox"],
  number: ["number"],
  select: ["select"],
};

function propertyFilter(
  ds: DataSource,
  f: Record<string, unknown>,
  at: string,
  nowMs: number,
): Predicate | string {
  const prop = typeof f.property === "string" ? findProperty(ds, f.property) : undefined;
  if (!prop) return `Could not find property with name or id: ${String(f.property)}`;
  const keys = Object.keys(f).filter((k) => k !== "property" && k !== "type");
  if (keys.length !== 1) return `${at} should have exactly one filter type.`;
  const key = keys[0];
  if (!FILTER_KEYS[prop.type].includes(key)) {
    return `${at}.${key} does not match the type of property ${prop.name} (${prop.type}).`;
  }
  const value = (p: Page) => p.values.get(prop.id);
  const cond = f[key];
  const sub = `${at}.${key}`;
  switch (prop.type) {
    case "date": {
      const test = dateCondition(cond, sub, nowMs);
      if (typeof test === "string") return test;
      return (p) => {
        const d = value(p) as StoredDate | null | undefined;
        return test(d ? { ms: dateStartMs(d), day: dateStartDay(d) } : null);
      };
    }
    case "checkbox": {
      const test = booleanCondition(cond, sub);
      return typeof test === "string" ? test : (p) => test(value(p) === true);
    }
    case "number": {
      const test = numberCondition(cond, sub);
      return typeof test === "string" ? test : (p) => test((value(p) as number | null) ?? null);
    }
    case "select": {
      const test = textCondition(cond, sub);
      if (typeof test === "string") return test;
      return (p) => test(((value(p) as { name?: string } | null) ?? {}).name ?? "");
    }
    case "url": {
      const test = textCondition(cond, sub);
      return typeof test === "string" ? test : (p) => test((value(p) as string | null) ?? "");
    }
    default: {
      const test = textCondition(cond, sub);
      return typeof test === "string" ? test : (p) => test(plainText(value(p)));
    }
  }
}

/** Compile a query filter. `depth` counts enclosing compound filters (max two levels). */
export function compileFilter(
  ds: DataSource,
  filter: unknown,
  nowMs: number,
  at = "body.filter",
  depth = 0,
): Predicate | string {
  if (!isRecord(filter)) return `${at} should be an object.`;
  if ("and" in filter || "or" in filter) {
    const op = "and" in filter ? "and" : "or";
    if (Object.keys(filter).length !== 1) return `${at} should have exactly one of and/or.`;
    if (depth >= 2) return `${at} exceeds the maximum nesting depth of two.`;
    const list = filter[op];
    if (!Array.isArray(list)) return `${at}.${op} should be an array.`;
    const parts: Predicate[] = [];
    for (const [i, sub] of list.entries()) {
      const p = compileFilter(ds, sub, nowMs, `${at}.${op}[${i}]`, depth + 1);
      if (typeof p === "string") return p;
      parts.push(p);
    }
    return op === "and" ? (pg) => parts.every((p) => p(pg)) : (pg) => parts.some((p) => p(pg));
  }
  if ("timestamp" in filter) {
    const which = filter.timestamp as Timestamp;
    if (!TIMESTAMPS.includes(which)) {
      return `${at}.timestamp should be "created_time" or "last_edited_time".`;
    }
    const test = dateCondition(filter[which], `${at}.${which}`, nowMs);
    if (typeof test === "string") return test;
    return (p) => {
      const ms = timestampOf(p, which);
      return test({ ms, day: toIso(ms).slice(0, 10) });
    };
  }
  if ("property" in filter) return propertyFilter(ds, filter, at, nowMs);
  return `${at} should define a property, timestamp, and or or filter.`;
}

/** The default order: last_edited_time descending (minute-rounded), then id. */
export const defaultOrder: Comparator = (a, b) =>
  timestampOf(b, "last_edited_time") - timestampOf(a, "last_edited_time") ||
  a.id.localeCompare(b.id);

function sortValue(prop: PropertySchema, p: Page): string | number | null {
  const v = p.values.get(prop.id);
  switch (prop.type) {
    case "date":
      return v ? dateStartMs(v as StoredDate) : null;
    case "checkbox":
      return v === true ? 1 : 0;
    case "number":
      return (v as number | null | undefined) ?? null;
    case "select":
      return (v as { name?: string } | null | undefined)?.name ?? null;
    case "url":
      return (v as string | null | undefined) || null;
    default:
      return plainText(v) || null;
  }
}

/** Compile `sorts`; each key breaks ties of the previous one, then page id. */
export function compileSorts(ds: DataSource, sorts: unknown): Comparator | string {
  if (sorts === undefined) return defaultOrder;
  if (!Array.isArray(sorts)) return "body.sorts should be an array.";
  if (sorts.length === 0) return defaultOrder;
  const keys: Comparator[] = [];
  for (const [i, s] of sorts.entries()) {
    const at = `body.sorts[${i}]`;
    if (!isRecord(s)) return `${at} should be an object.`;
    if (s.direction !== "ascending" && s.direction !== "descending") {
      return `${at}.direction should be "ascending" or "descending".`;
    }
    const sign = s.direction === "ascending" ? 1 : -1;
    if (s.timestamp !== undefined) {
      const which = s.timestamp as Timestamp;
      if (!TIMESTAMPS.includes(which)) return `${at}.timestamp is not a valid timestamp.`;
      keys.push((a, b) => sign * (timestampOf(a, which) - timestampOf(b, which)));
    } else if (typeof s.property === "string") {
      const prop = findProperty(ds, s.property);
      if (!prop) return `Could not find sort property with name or id: ${s.property}`;
      keys.push((a, b) => {
        const va = sortValue(prop, a);
        const vb = sortValue(prop, b);
        if (va === null || vb === null) return va === vb ? 0 : va === null ? 1 : -1;
        const c = typeof va === "number" && typeof vb === "number"
          ? va - vb
          : String(va).localeCompare(String(vb));
        return sign * Math.sign(c);
      });
    } else return `${at} should define a property or a timestamp.`;
  }
  return (a, b) => {
    for (const k of keys) {
      const c = k(a, b);
      if (c !== 0) return c;
    }
    return a.id.localeCompare(b.id);
  };
}
