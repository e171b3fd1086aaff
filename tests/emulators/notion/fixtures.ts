// Control-API conveniences for test data: the "simple" property shape
// ({title: "x", date: {start, end}, notes: "y", done: true}) translated into Notion's API shape,
// author resolution, and silent bulk seeding.
// Invariants: simple values go through the same validation as API writes (2,000-character
// limit, date rules); seeding emits no webhook events and takes one `now` for every page.

import { defaultPerson, ensurePerson } from "./accounts.ts";
import type { Ctx } from "./context.ts";
import { createPage } from "./mutations.ts";
import { findProperty, type ParsedWrites, parseWrites } from "./properties.ts";
import type { Author, DataSource, PropertySchema } from "./store.ts";
import { toIso } from "./time.ts";
import { isRecord, normalizeId } from "./util.ts";

/** "person"/absent -> the configured person; a UUID -> that person (created on demand). */
export function resolveAuthor(ctx: Ctx, raw: unknown): Author | string {
  if (raw === undefined || raw === null || raw === "person") {
    return { id: defaultPerson(ctx).id, type: "person" };
  }
  const id = typeof raw === "string" ? normalizeId(raw) : undefined;
  if (!id) return 'author must be "person" or a user id (UUID)';
  return { id: ensurePerson(ctx, id).id, type: "person" };
}

function propertyFor(ds: DataSource, key: string): PropertySchema | undefined {
  if (key.toLowerCase() === "title") {
    const exact = findProperty(ds, key);
    return exact ?? ds.properties.find((p) => p.type === "title");
  }
  return findProperty(ds, key) ??
    ds.properties.find((p) => p.name.toLowerCase() === key.toLowerCase());
}

function simpleValue(prop: PropertySchema, v: unknown): unknown {
  switch (prop.type) {
    case "title":
    case "rich_text":
      return v === null ? [] : [{ type: "text", text: { content: String(v) } }];
    case "date":
      return typeof v === "string" ? { start: v } : v;
    case "select":
      return typeof v === "string" ? { name: v } : v;
    default:
      return v;
  }
}

/** Accept API-shape or simple-shape properties; validate like the API does. */
export function controlWrites(ds: DataSource, input: unknown): ParsedWrites | string {
  if (input === undefined) return parseWrites(ds, {});
  if (!isRecord(input)) return "properties must be an object";
  const api: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const prop = propertyFor(ds, key);
    if (!prop) return `${key} is not a property that exists.`;
    api[prop.name] = isRecord(value) && prop.type in value
      ? value
      : { [prop.type]: simpleValue(prop, value) };
  }
  return parseWrites(ds, api);
}

export interface SeedSpec {
  count: number;
  fromMs: number;
  spacingMinutes: number;
  durationMinutes: number;
  datedRatio: number;
  titlePrefix: string;
  allDay: boolean;
}

/** Create `count` pages silently; every k-th page (by dated_ratio) gets a date. */
export function seedPages(ctx: Ctx, ds: DataSource, spec: SeedSpec): string[] | string {
  const author: Author = { id: defaultPerson(ctx).id, type: "person" };
  const dateProp = ds.properties.find((p) => p.type === "date");
  const titleProp = ds.properties.find((p) => p.type === "title")!;
  const now = ctx.clock.now();
  const ids: string[] = [];
  for (let i = 0; i < spec.count; i++) {
    const props: Record<string, unknown> = {
      [titleProp.name]: { title: [{ text: { content: `${spec.titlePrefix} ${i + 1}` } }] },
    };
    const dated = Math.floor((i + 1) * spec.datedRatio) > Math.floor(i * spec.datedRatio);
    if (dateProp && dated) {
      const startMs = spec.fromMs + i * spec.spacingMinutes * 60_000;
      const endMs = startMs + spec.durationMinutes * 60_000;
      props[dateProp.name] = {
        date: spec.allDay
          ? { start: toIso(startMs).slice(0, 10), end: null }
          : { start: toIso(startMs), end: spec.durationMinutes > 0 ? toIso(endMs) : null },
      };
    }
    const writes = parseWrites(ds, props);
    if (typeof writes === "string") return writes;
    ids.push(createPage(ctx, ds, writes, author, { silent: true, atMs: now }).id);
  }
  return ids;
}
