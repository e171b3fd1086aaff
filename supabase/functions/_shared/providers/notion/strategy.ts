// Notion's change strategy: how one data source's dated pages reach the mirror, with webhooks
// (which only say "something changed") or with none at all (every 2 minutes, pg_cron's poll).
//
// FULL (no cursor; the first sync, a restart, and once a day): every dated page of the data
// source (filter `date is_not_empty`, sorted by last_edited_time ascending, 100 per request).
// The sweep deletes every mirror row the full read did not see (trashed, undated, moved away).
//
// INCREMENTAL (the cursor is Notion's own last_edited_time watermark, never our clock):
//   1. the mirror's rows starting after (now − 7 days − 3 days) are read once, under the sync
//      claim (id, etag, start): nothing else writes this calendar's rows while the claim is held
//      (webhooks only mark). The core sweeps unseen rows after FULL syncs only, so the poll
//      works out its removals itself, from this snapshot;
//   2. CHANGED pages: `last_edited_time on_or_after (watermark − 2 minutes)`, ascending. Notion
//      rounds last_edited_time DOWN to the minute, so an edit made later in the minute of the
//      watermark carries the same value as the one already seen: the 2-minute overlap reads it
//      again, and the content etag tells an unchanged page (skipped, no write) from a second
//      edit within the same minute (stored). The overlap also absorbs a short indexing delay.
//      Dated pages are items, undated ones removals;
//   3. the LIVE set: every dated page starting on or after (now − 7 days − 2 days), also in
//      ascending last_edited_time order (a page edited during the walk moves ahead of the walk,
//      never behind it, so it cannot be missed and wrongly taken for trashed) — trashed
//      pages are never returned by a query, and neither are pages moved to another data
//      source. Mirror rows starting on or after (now − 7 days) that are not live are REMOVED:
//      that is how a trash (which no query ever shows) converges with every webhook dropped,
//      and un-dating too (also seen in step 2). Live pages the mirror lacks (a restored page,
//      a page moved in) become items. The wider margins on the Notion side (2 days) and the
//      snapshot (3 days) absorb the difference between Notion's comparison of an all-day date
//      (UTC midnight) and the mirror's start (local midnight, at most 14 h apart), so a live
//      page is never removed and an unchanged one never rewritten;
//   4. the last page carries the removals and the new watermark (the newest last_edited_time
//      seen; it never moves back).
// What it does not converge at once: a trashed page that STARTED more than 7 days ago (it is
// removed by the next daily full read; the planner only looks from 2 days back). The daily full
// read is forced by throwing CursorExpiredError, the core's own restart into a new generation.
// The cursor is JSON {v: 1, edited: ISO | null, full: ISO}; one that does not parse restarts a
// full read the same way.
import type { Clock } from "../../clock.ts";
import {
  type ChangePage,
  type ChangeStrategy,
  CursorExpiredError,
  type MirrorItem,
} from "../../sync/types.ts";
import type { NotionPage, NotionQuery } from "./client.ts";
import { type DatePropertyRef, mapPage, normalizeNotionId } from "./mapping.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far behind the watermark an incremental read starts (last_edited_time is minute-rounded). */
export const OVERLAP_MS = 2 * MINUTE_MS;
/** Mirror rows starting after now − this are checked against the live set on every poll. */
export const LIVE_WINDOW_BACK_MS = 7 * DAY_MS;
/** Extra margin of the live query (Notion side) before the window. */
export const LIVE_QUERY_MARGIN_MS = 2 * DAY_MS;
/** Extra margin of the mirror snapshot before the window. */
export const SNAPSHOT_MARGIN_MS = 3 * DAY_MS;
/** A full read at least this often. */
export const FULL_READ_EVERY_MS = DAY_MS;

export interface MirrorRow {
  external_id: string;
  etag: string | null;
  starts_at: string;
}

/** The calendar's mirror rows starting at or after `fromMs` (read under the sync claim). */
export type MirrorSnapshot = (fromMs: number) => Promise<MirrorRow[]>;

/** What the strategy needs of the client (NotionClient; a fake in tests). */
export interface NotionLister {
  queryAll(dataSourceId: string, query?: NotionQuery): AsyncIterable<NotionPage[]>;
  counters: { requests: number };
}

export interface NotionStrategyOptions {
  client: NotionLister;
  dataSourceId: string;
  dateProperty: DatePropertyRef;
  /** Used when the claim carries no time zone. */
  timeZone?: string | null;
  /** The connection's integration: pages it created are our planned blocks (mapping.ts). */
  botId?: string | null;
  mirror: MirrorSnapshot;
  clock: Clock;
  log?: (line: string) => void;
}

interface NotionCursor {
  v: 1;
  edited: string | null;
  full: string;
}

export function encodeCursor(cursor: Omit<NotionCursor, "v">): string {
  return JSON.stringify({ v: 1, edited: cursor.edited, full: cursor.full });
}

export function decodeCursor(raw: string): NotionCursor {
  try {
    const parsed = JSON.parse(raw);
    if (
      parsed?.v === 1 && (parsed.edited === null || !Number.isNaN(Date.parse(parsed.edited))) &&
      !Number.isNaN(Date.parse(parsed.full))
    ) {
      return parsed;
    }
  } catch {
    // handled below
  }
  throw new CursorExpiredError("the Notion cursor is not readable; a full read is needed");
}

const ASCENDING = [{ timestamp: "last_edited_time", direction: "ascending" }];

function later(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

export function notionChangeStrategy(options: NotionStrategyOptions): ChangeStrategy {
  const property = options.dateProperty.id ?? options.dateProperty.name;
  const dated = { property, date: { is_not_empty: true } };
  const stats = { read: 0, unchanged: 0 };

  return {
    async *pages({ cursor, timeZone }): AsyncGenerator<ChangePage> {
      const context = {
        dateProperty: options.dateProperty,
        timeZone: timeZone ?? options.timeZone ?? "UTC",
        botId: options.botId,
      };
      const now = options.clock.now();
      stats.read = 0;
      stats.unchanged = 0;

      if (cursor === null) {
        let edited: string | null = null;
        for await (
          const results of options.client.queryAll(options.dataSourceId, {
            filter: dated,
            sorts: ASCENDING,
          })
        ) {
          const items: MirrorItem[] = [];
          for (const page of results) {
            stats.read++;
            edited = later(edited, page.last_edited_time);
            const outcome = mapPage(page, context);
            if (outcome.kind === "item") items.push(outcome.item);
          }
          if (items.length > 0) yield { items, removedIds: [] };
        }
        options.log?.(`FULL read: ${stats.read} dated pages`);
        yield {
          items: [],
          removedIds: [],
          nextCursor: encodeCursor({ edited, full: new Date(now).toISOString() }),
        };
        return;
      }

      const previous = decodeCursor(cursor);
      if (now - Date.parse(previous.full) >= FULL_READ_EVERY_MS) {
        throw new CursorExpiredError("the daily full read of the Notion data source is due");
      }
      const windowFrom = now - LIVE_WINDOW_BACK_MS;
      const snapshot = new Map<string, { etag: string | null; start: number }>();
      for (const row of await options.mirror(windowFrom - SNAPSHOT_MARGIN_MS)) {
        snapshot.set(row.external_id, { etag: row.etag, start: Date.parse(row.starts_at) });
      }

      // 2. Changed pages, from the watermark minus the overlap.
      let edited = previous.edited;
      const seenDated = new Map<string, number>();
      const seenRemoved = new Set<string>();
      const since = previous.edited === null ? null : Date.parse(previous.edited) - OVERLAP_MS;
      for await (
        const results of options.client.queryAll(options.dataSourceId, {
          ...(since === null ? {} : {
            filter: {
              timestamp: "last_edited_time",
              last_edited_time: { on_or_after: new Date(since).toISOString() },
            },
          }),
          sorts: ASCENDING,
        })
      ) {
        const items: MirrorItem[] = [];
        const removedIds: string[] = [];
        for (const page of results) {
          stats.read++;
          edited = later(edited, page.last_edited_time);
          const outcome = mapPage(page, context);
          if (outcome.kind === "removed") {
            seenRemoved.add(outcome.id);
            seenDated.delete(outcome.id);
            removedIds.push(outcome.id);
            continue;
          }
          const { item } = outcome;
          seenRemoved.delete(item.external_id);
          seenDated.set(item.external_id, Date.parse(item.starts_at));
          if (snapshot.get(item.external_id)?.etag === item.etag) stats.unchanged++;
          else items.push(item);
        }
        if (items.length > 0 || removedIds.length > 0) yield { items, removedIds };
      }

      // 3. The live dated pages of the window: what the mirror holds and Notion no longer shows
      // (trashed, un-dated, moved away) goes; what Notion shows and the mirror lacks comes.
      const live = new Set<string>();
      for await (
        const results of options.client.queryAll(options.dataSourceId, {
          filter: {
            and: [dated, {
              property,
              date: {
                on_or_after: new Date(windowFrom - LIVE_QUERY_MARGIN_MS).toISOString(),
              },
            }],
          },
          sorts: ASCENDING,
        })
      ) {
        const items: MirrorItem[] = [];
        for (const page of results) {
          stats.read++;
          const id = normalizeNotionId(page.id);
          live.add(id);
          const held = seenRemoved.has(id) ? false : seenDated.has(id) || snapshot.has(id);
          if (held) continue;
          const outcome = mapPage(page, context);
          if (outcome.kind === "item") {
            seenRemoved.delete(id);
            seenDated.set(id, Date.parse(outcome.item.starts_at));
            items.push(outcome.item);
          }
        }
        if (items.length > 0) yield { items, removedIds: [] };
      }

      const removedIds: string[] = [];
      const starts = new Map<string, number>();
      for (const [id, row] of snapshot) {
        if (!seenRemoved.has(id) && !seenDated.has(id)) starts.set(id, row.start);
      }
      for (const [id, start] of seenDated) starts.set(id, start);
      for (const [id, start] of starts) {
        if (start >= windowFrom && !live.has(id)) removedIds.push(id);
      }
      options.log?.(
        `INCREMENTAL read: ${stats.read} pages, ${stats.unchanged} unchanged, ` +
          `${removedIds.length} no longer live`,
      );
      yield {
        items: [],
        removedIds,
        nextCursor: encodeCursor({ edited, full: previous.full }),
      };
    },

    // A full read saw every dated page of the data source: the rows it did not see go.
    fullSyncSweep: () => ({ unseen: "delete", windowFrom: null, windowTo: null }),
    requests: () => options.client.counters.requests,
    completionLine: (summary) =>
      `[notion-sync] ${summary.fullSync ? "FULL" : "INCREMENTAL"} Notion sync complete: ` +
      `${summary.inserted} new, ${summary.updated} updated, ${summary.deleted} removed, ` +
      `${stats.read} pages read, ${stats.unchanged} unchanged`,
  };
}
