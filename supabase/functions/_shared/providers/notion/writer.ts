// Notion's writer for the outbound queue: a planned block becomes one page in the followed data
// source, and follows the block.
//
//   - The page has the title property (whatever the database calls it) = the session's title,
//     the date property = the block's start and end (instants with their offset), and, when the
//     database has a rich-text "Notes" property, a line naming the session and the block
//     (`calendar-sync:<block key>`). Our integration created the page, which is how the inbound
//     mapping recognises it as ours (app-owned, never busy for its own user).
//   - Notion has no client-chosen ids, so a create whose answer was lost would become a second
//     page if simply repeated: before creating, the data source is searched for a page with the
//     block's marker, and a page found is adopted. (Without a Notes property there is nothing to
//     search by; the README says so.)
//   - Notion has no conditional writes (no If-Match). Before a move, the page is read: if it is
//     not what we last wrote, a person changed it meanwhile, and the queue's SQL decides who wins
//     by the time each side changed it and records the conflict — as for Google.
//   - A block that should not exist any more: its page is moved to the trash (a page already gone
//     counts as done).
//   - Every call goes through the connection's client: one pacer per integration (Notion's ~3
//     requests per second), 429 / 529 waited out for their Retry-After.
import { rpc } from "../../db/client.ts";
import { ProviderApiError } from "../../net/provider_error.ts";
import { blockWriter } from "../../outbound/block_writer.ts";
import type {
  OutboundItem,
  OutboundWriter,
  WriteOutcome,
  WrittenBlock,
} from "../../outbound/types.ts";
import type { ConnectionRecord, WriterContext } from "../../sync/types.ts";
import type { NotionClient, NotionDataSource, NotionPage } from "./client.ts";
import { connectionSettings } from "./config.ts";
import {
  BLOCK_MARKER_PREFIX,
  dateInterval,
  isTrashed,
  normalizeNotionId,
  pageDate,
  pageTitle,
} from "./mapping.ts";

/** The rich-text property that carries the block's marker, when the database has it. */
export const NOTES_PROPERTY = "Notes";

interface DataSourceShape {
  titleProperty: string;
  hasNotes: boolean;
}

function shapeOf(dataSource: NotionDataSource): DataSourceShape {
  const properties = Object.entries(dataSource.properties ?? {});
  const title = properties.find(([, schema]) => schema.type === "title")?.[0];
  if (!title) {
    throw new ProviderApiError({
      provider: "notion",
      kind: "permanent",
      status: null,
      reason: "no_title_property",
      message: "the followed data source has no title property",
    });
  }
  return {
    titleProperty: title,
    hasNotes: properties.some(([name, schema]) =>
      name === NOTES_PROPERTY && schema.type === "rich_text"
    ),
  };
}

const isKind = (error: unknown, ...kinds: string[]) =>
  error instanceof ProviderApiError && kinds.includes(error.kind);

export function notionWriter(
  context: WriterContext,
  connection: ConnectionRecord,
  client: NotionClient,
): OutboundWriter {
  const settings = connectionSettings(connection.settings);
  const dateProperty = { id: settings.date_property_id, name: settings.date_property };
  const shapes = new Map<string, DataSourceShape>();

  async function shape(dataSourceId: string): Promise<DataSourceShape> {
    let known = shapes.get(dataSourceId);
    if (!known) {
      shapes.set(dataSourceId, known = shapeOf(await client.retrieveDataSource(dataSourceId)));
    }
    return known;
  }

  function properties(item: OutboundItem, dataSource: DataSourceShape): Record<string, unknown> {
    const title = String(item.desired.title ?? "Planned session");
    const written: Record<string, unknown> = {
      [dataSource.titleProperty]: { title: [{ type: "text", text: { content: title } }] },
      [settings.date_property]: {
        date: { start: item.desired.starts_at, end: item.desired.ends_at },
      },
    };
    if (dataSource.hasNotes) {
      written[NOTES_PROPERTY] = {
        rich_text: [{
          type: "text",
          text: {
            content: `Planned session "${title}" · ${BLOCK_MARKER_PREFIX}${item.target_key}`,
          },
        }],
      };
    }
    return written;
  }

  /** What a page holds now, in the terms the write-back links keep. */
  function asWritten(dataSourceId: string, page: NotionPage): WrittenBlock {
    const date = pageDate(page, dateProperty);
    const interval = date ? dateInterval(date, settings.time_zone) : null;
    return {
      calendar_id: dataSourceId,
      external_id: normalizeNotionId(page.id),
      id_version: 0,
      etag: page.last_edited_time ?? null,
      title: pageTitle(page),
      starts_at: interval?.starts_at ?? null,
      ends_at: interval?.ends_at ?? null,
    };
  }

  /** A page our integration wrote for this block earlier (a create whose answer was lost). */
  async function findWritten(item: OutboundItem, dataSourceId: string, hasNotes: boolean) {
    if (!hasNotes) return null;
    const found = await client.queryDataSource(dataSourceId, {
      filter: {
        property: NOTES_PROPERTY,
        rich_text: { contains: `${BLOCK_MARKER_PREFIX}${item.target_key}` },
      },
      pageSize: 10,
    });
    return found.results.find((page) =>
      !isTrashed(page) &&
      normalizeNotionId(page.created_by?.id ?? "") === normalizeNotionId(settings.bot_id)
    ) ?? null;
  }

  /** A person changed our page: the queue's SQL decides who wins and applies it. */
  function providerChanged(dataSourceId: string, page: NotionPage | null, externalId: string) {
    const current = page && !isTrashed(page) ? asWritten(dataSourceId, page) : null;
    return rpc<"echo" | "provider" | "app">(context.db, "write_back_provider_changed", {
      p_connection_id: connection.id,
      p_calendar_id: dataSourceId,
      p_external_id: externalId,
      p_etag: current?.etag ?? null,
      p_title: current?.title ?? null,
      p_starts_at: current?.starts_at ?? null,
      p_ends_at: current?.ends_at ?? null,
      p_deleted: current === null || current.starts_at === null,
      p_changed_at: page?.last_edited_time ?? null,
    });
  }

  async function create(item: OutboundItem, dataSourceId: string): Promise<WriteOutcome> {
    const dataSource = await shape(dataSourceId);
    const existing = await findWritten(item, dataSourceId, dataSource.hasNotes);
    const page = existing
      ? await client.updatePage(existing.id, { properties: properties(item, dataSource) })
      : await client.createPage(dataSourceId, properties(item, dataSource));
    return {
      kind: "done",
      link: asWritten(dataSourceId, page),
      note: existing ? "adopted the page an earlier attempt created" : undefined,
    };
  }

  async function current(pageId: string): Promise<NotionPage | null> {
    try {
      return await client.retrievePage(pageId);
    } catch (error) {
      if (isKind(error, "not_found", "gone")) return null;
      throw error;
    }
  }

  async function upsert(item: OutboundItem): Promise<WriteOutcome> {
    const dataSourceId = item.target_calendar;
    const link = item.link?.calendar_id === dataSourceId ? item.link : null;
    if (!link || link.status !== "live") return await create(item, dataSourceId);
    const page = await current(link.external_id);
    const seen = page && !isTrashed(page) ? asWritten(dataSourceId, page) : null;
    const untouched = seen !== null && seen.starts_at === link.written_starts_at &&
      seen.ends_at === link.written_ends_at && seen.title === link.written_title;
    if (!untouched) {
      const winner = await providerChanged(dataSourceId, page, link.external_id);
      if (winner === "provider") {
        return { kind: "done", note: "superseded by an edit in Notion" };
      }
      // The app's later change wins; a page a person trashed is created again.
      if (seen === null) return await create(item, dataSourceId);
    }
    const updated = await client.updatePage(link.external_id, {
      properties: properties(item, await shape(dataSourceId)),
    });
    return { kind: "done", link: asWritten(dataSourceId, updated) };
  }

  return blockWriter({
    provider: "Notion",
    upsert,
    remove: async (link) => {
      try {
        await client.trashPage(link.external_id);
      } catch (error) {
        if (!isKind(error, "not_found", "gone")) throw error;
      }
    },
  });
}
