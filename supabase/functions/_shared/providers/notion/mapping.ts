// A Notion page as a mirror item (busy time), or as a removal.
// Invariants (each pinned by tests/unit/providers/notion/mapping_test.ts):
//   - the page's date property (found by its property id, else by name) decides: a trashed page
//     (`in_trash`, or `archived` from older versions) or a page without a date is REMOVED from
//     the mirror; a dated page is an item;
//   - a date-only value is all-day: it starts at local midnight in the connection's time zone
//     (never UTC midnight) and ends at local midnight after its last day — Notion's end date is
//     inclusive, and a date-only value without an end is that one whole day;
//   - a datetime carries an offset (Notion renders one even when written with a time_zone); a
//     datetime without one is read in the value's own time_zone, else in the connection's;
//   - a datetime without an end is a POINT: starts_at = ends_at. It is kept in the mirror (the
//     page is dated) but is not busy — a half-open interval of zero length blocks no time;
//   - an end before its start is clamped to the start (Notion refuses such writes anyway);
//   - summary = the title's plain text (null when empty); external_updated_at = last_edited_time
//     (minute-rounded by Notion); details = the page URL, the raw date value and the id of the
//     last editor (`last_edited_by`: the connection's bot when this bundle wrote the page, which
//     is how write-back recognises its own echo);
//   - a page our integration created (created_by = the connection's bot) is one of our planned
//     blocks (write-back): app_tag = the block key named in its Notes marker (else its own id),
//     and it is never busy time for its own user — whoever edits it later (a person's edit of our
//     page is reconciled by the write-back links, not by who edited last);
//   - etag = SHA-256 of everything the mirror keeps from the page, so the same content read
//     twice (the poll's overlapping cursor) is recognised as unchanged, and two edits within
//     one minute (same last_edited_time) are still told apart.
import { createHash } from "node:crypto";
import { Temporal } from "temporal-polyfill";
import type { MirrorItem } from "../../sync/types.ts";
import type { NotionDateValue, NotionPage, NotionPropertyValue } from "./client.ts";

export interface DatePropertyRef {
  /** Notion's property id (stable across renames), when known. */
  id: string | null;
  name: string;
}

export interface NotionMappingContext {
  dateProperty: DatePropertyRef;
  /** IANA zone all-day dates are placed in (the connection's). */
  timeZone: string;
  /** The connection's integration (bot user) id: pages it created are our planned blocks. */
  botId?: string | null;
}

/** How a planned block names itself in its page's Notes (write-back writes it, mapping reads it). */
export const BLOCK_MARKER_PREFIX = "calendar-sync:";

/** The block key in a page's rich-text properties' marker, if any. */
export function blockMarker(page: NotionPage): string | null {
  for (const value of Object.values(page.properties ?? {})) {
    if (value?.type !== "rich_text" || !Array.isArray(value.rich_text)) continue;
    const text = (value.rich_text as { plain_text?: string }[])
      .map((part) => part?.plain_text ?? "").join("");
    const at = text.indexOf(BLOCK_MARKER_PREFIX);
    if (at >= 0) {
      const key = text.slice(at + BLOCK_MARKER_PREFIX.length).match(/^[^\s]+/)?.[0];
      if (key) return key;
    }
  }
  return null;
}

/** The block a page was written for, when our integration created it. */
function appTag(page: NotionPage, id: string, botId: string | null | undefined): string | null {
  if (!botId || !page.created_by?.id) return null;
  if (normalizeNotionId(page.created_by.id) !== normalizeNotionId(botId)) return null;
  return blockMarker(page) ?? id;
}

export type PageOutcome =
  | { kind: "item"; item: MirrorItem }
  | { kind: "removed"; id: string; reason: "trashed" | "undated" };

/** Notion ids with or without dashes, in any case → the dashed lower-case form. */
export function normalizeNotionId(id: string): string {
  const hex = id.replaceAll("-", "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return id.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

export function isTrashed(page: Pick<NotionPage, "in_trash" | "archived">): boolean {
  return page.in_trash === true || page.archived === true;
}

export function pageTitle(page: NotionPage): string | null {
  const title = Object.values(page.properties ?? {}).find((value) => value?.type === "title");
  const parts = Array.isArray(title?.title) ? title.title as { plain_text?: string }[] : [];
  const text = parts.map((part) => part?.plain_text ?? "").join("");
  return text === "" ? null : text;
}

function dateProperty(page: NotionPage, ref: DatePropertyRef): NotionPropertyValue | undefined {
  const values = Object.values(page.properties ?? {});
  return (ref.id ? values.find((value) => value?.id === ref.id) : undefined) ??
    page.properties?.[ref.name];
}

/** The page's date value; null when the property is empty, missing or not a date. */
export function pageDate(page: NotionPage, ref: DatePropertyRef): NotionDateValue | null {
  const property = dateProperty(page, ref);
  if (!property || property.type !== "date") return null;
  const value = property.date as NotionDateValue | null | undefined;
  return value && typeof value.start === "string" && value.start !== "" ? value : null;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const HAS_OFFSET = /(Z|[+-]\d{2}:?\d{2})$/i;

const knownZones = new Map<string, string>();

/** The zone if Temporal knows it, else UTC (a bad zone never fails a whole page). */
function zoneOrUtc(timeZone: string | null | undefined): string {
  if (!timeZone) return "UTC";
  let zone = knownZones.get(timeZone);
  if (zone === undefined) {
    try {
      Temporal.Now.instant().toZonedDateTimeISO(timeZone);
      zone = timeZone;
    } catch {
      zone = "UTC";
    }
    knownZones.set(timeZone, zone);
  }
  return zone;
}

function localMidnight(date: Temporal.PlainDate, timeZone: string): number {
  return date.toZonedDateTime({ timeZone }).epochMilliseconds;
}

/** One end of a date value as epoch ms (`dayEnd`: a date-only end means the END of that day). */
function instantOf(value: string, timeZone: string, dayEnd: boolean): number {
  if (DATE_ONLY.test(value)) {
    const day = Temporal.PlainDate.from(value);
    return localMidnight(dayEnd ? day.add({ days: 1 }) : day, timeZone);
  }
  if (HAS_OFFSET.test(value)) return Temporal.Instant.from(value).epochMilliseconds;
  return Temporal.PlainDateTime.from(value).toZonedDateTime(timeZone).epochMilliseconds;
}

export interface DateInterval {
  starts_at: string;
  ends_at: string;
  all_day: boolean;
}

/** A date value as a half-open UTC interval (see the header for every rule). */
export function dateInterval(date: NotionDateValue, connectionTimeZone: string): DateInterval {
  const zone = zoneOrUtc(date.time_zone ?? connectionTimeZone);
  const dayZone = zoneOrUtc(connectionTimeZone);
  const startIsDay = DATE_ONLY.test(date.start);
  const start = instantOf(date.start, startIsDay ? dayZone : zone, false);
  let end: number;
  if (date.end) {
    end = instantOf(date.end, DATE_ONLY.test(date.end) ? dayZone : zone, true);
  } else {
    end = startIsDay ? instantOf(date.start, dayZone, true) : start;
  }
  return {
    starts_at: new Date(start).toISOString(),
    ends_at: new Date(Math.max(start, end)).toISOString(),
    all_day: startIsDay && (!date.end || DATE_ONLY.test(date.end)),
  };
}

function isoInstant(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new Error(`not an instant: ${value}`);
  return new Date(ms).toISOString();
}

/** SHA-256 (hex) of the mirror's view of a page: equal content ⇔ equal etag. */
export function contentEtag(item: Omit<MirrorItem, "etag">): string {
  const kept = [
    item.summary,
    item.starts_at,
    item.ends_at,
    item.all_day,
    item.is_busy,
    item.status,
    item.details,
  ];
  return createHash("sha256").update(JSON.stringify(kept)).digest("hex");
}

export function mapPage(page: NotionPage, context: NotionMappingContext): PageOutcome {
  const id = normalizeNotionId(page.id);
  if (isTrashed(page)) return { kind: "removed", id, reason: "trashed" };
  const date = pageDate(page, context.dateProperty);
  if (!date) return { kind: "removed", id, reason: "undated" };
  let interval: DateInterval;
  try {
    interval = dateInterval(date, context.timeZone);
  } catch {
    // A value Notion would not produce: treated like no date at all.
    return { kind: "removed", id, reason: "undated" };
  }
  const tag = appTag(page, id, context.botId);
  const base: Omit<MirrorItem, "etag"> = {
    external_id: id,
    summary: pageTitle(page),
    ...interval,
    status: "confirmed",
    is_busy: tag === null && Date.parse(interval.ends_at) > Date.parse(interval.starts_at),
    is_tentative: false,
    app_tag: tag,
    external_updated_at: isoInstant(page.last_edited_time),
    details: {
      url: page.url ?? null,
      last_edited_by: page.last_edited_by?.id ?? null,
      date: { start: date.start, end: date.end ?? null, time_zone: date.time_zone ?? null },
    },
  };
  return { kind: "item", item: { ...base, etag: contentEtag(base) } };
}
