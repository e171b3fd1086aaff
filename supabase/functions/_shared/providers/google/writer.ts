// Google's writer for the outbound queue: a planned block becomes one event in the user's
// calendar, and follows the block.
//
//   - The event carries our private extended property (key ≤ 44 characters) naming the block,
//     `transparency: opaque` (others see the time as busy) and no attendees (attendees and
//     invitations are what trips Google's "Calendar usage limits exceeded"); nobody is notified.
//   - Its id is derived from the block and a version (lowercase hex ⊂ base32hex, 32 characters),
//     so a retried insert can never create a duplicate: 409 duplicate means "it exists"; a
//     deleted event's id stays taken, so a block created again gets the next version.
//   - A moved block is patched with If-Match on the etag we last saw: a 412 means a person
//     changed the event meanwhile; the queue's SQL decides who wins (the later change) and
//     records the conflict.
//   - An unscheduled, done or cancelled session's blocks are deleted; 410 on an already-deleted
//     event counts as done.
//   - 'planned': a secondary calendar "Planned sessions" is created on first use (the narrow
//     calendar.app.created scope allows it), watched and synced like any other, so edits made
//     there come back.
import { Buffer } from "node:buffer";
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
import { withMaintenanceClaim } from "../../sync/maintenance_claim.ts";
import type { GoogleCalendarClient } from "./calendar_client.ts";
import { ensureChannel } from "./channels.ts";
import { APP_EVENT_PROPERTY } from "./event_mapping.ts";
import type { GoogleEvent } from "./types.ts";

export const PLANNED_CALENDAR_SUMMARY = "Planned sessions";
const MAX_ID_VERSIONS = 5;

/** The client-supplied event id of a block's n-th version. */
export async function blockEventId(blockKey: string, version: number): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(`calendar-sync:${blockKey}:v${version}`),
  );
  return Buffer.from(digest).toString("hex").slice(0, 32);
}

function eventBody(item: OutboundItem): Partial<GoogleEvent> {
  return {
    summary: item.desired.title,
    start: { dateTime: item.desired.starts_at },
    end: { dateTime: item.desired.ends_at },
    transparency: "opaque",
    extendedProperties: { private: { [APP_EVENT_PROPERTY]: item.target_key } },
  };
}

function written(calendarId: string, event: GoogleEvent, version: number): WrittenBlock {
  const iso = (value: string | undefined) => (value ? new Date(value).toISOString() : null);
  return {
    calendar_id: calendarId,
    external_id: event.id,
    id_version: version,
    etag: event.etag ?? null,
    title: event.summary ?? null,
    starts_at: iso(event.start?.dateTime),
    ends_at: iso(event.end?.dateTime),
  };
}

const isKind = (error: unknown, ...kinds: string[]) =>
  error instanceof ProviderApiError && kinds.includes(error.kind);

export function googleWriter(
  context: WriterContext,
  connection: ConnectionRecord,
  client: GoogleCalendarClient,
): OutboundWriter {
  /** The calendar id behind 'planned' / 'primary' / an id, creating "Planned sessions" once. */
  async function resolveCalendar(target: string): Promise<string> {
    if (target === "primary") return connection.external_account_id;
    if (target !== "planned") return target;
    const known = connection.settings.planned_calendar_id;
    if (typeof known === "string") return known;
    const created = await client.insertCalendar(PLANNED_CALENDAR_SUMMARY);
    const winner = await rpc<string>(context.db, "write_back_set_planned_calendar", {
      p_connection_id: connection.id,
      p_calendar_id: created.id,
    });
    connection.settings = { ...connection.settings, planned_calendar_id: winner };
    if (winner !== created.id) {
      await client.deleteCalendar(created.id);
      return winner;
    }
    // Watched and synced like any other calendar, so edits made there come back.
    const watched = { connectionId: connection.id, calendarId: winner };
    await rpc(context.db, "sync_watch_calendar", {
      p_connection_id: connection.id,
      p_calendar_id: winner,
      p_time_zone: null,
    });
    await withMaintenanceClaim(context, watched, (held) =>
      ensureChannel(context, client, watched, {
        heldClaim: { ...held, channels: [] },
      }));
    await context.syncTarget(watched);
    return winner;
  }

  /** A person changed our event: the queue's SQL decides who wins and applies it. */
  function providerChanged(calendarId: string, event: GoogleEvent | null, externalId: string) {
    const cancelled = !event || event.status === "cancelled";
    return rpc<"echo" | "provider" | "app">(context.db, "write_back_provider_changed", {
      p_connection_id: connection.id,
      p_calendar_id: calendarId,
      p_external_id: externalId,
      p_etag: event?.etag ?? null,
      p_title: event?.summary ?? null,
      p_starts_at: cancelled ? null : event?.start?.dateTime ?? null,
      p_ends_at: cancelled ? null : event?.end?.dateTime ?? null,
      p_deleted: cancelled,
      p_changed_at: event?.updated ?? null,
    });
  }

  async function insert(item: OutboundItem, calendarId: string, fromVersion: number) {
    for (let version = fromVersion; version < fromVersion + MAX_ID_VERSIONS; version++) {
      const id = await blockEventId(item.target_key, version);
      try {
        const event = await client.insertEvent(calendarId, { id, ...eventBody(item) }, {
          sendUpdates: "none",
        });
        return written(calendarId, event, version);
      } catch (error) {
        if (!(error instanceof ProviderApiError && error.status === 409)) throw error;
        // It exists: a retried insert whose answer was lost, or a deleted one (id taken).
        const existing = await client.getEvent(calendarId, id);
        if (existing.status === "cancelled") continue;
        const patched = await client.patchEvent(calendarId, id, eventBody(item), {
          sendUpdates: "none",
          ifMatch: existing.etag,
        });
        return written(calendarId, patched, version);
      }
    }
    throw new ProviderApiError({
      provider: "google",
      kind: "permanent",
      status: 409,
      reason: "duplicate",
      message: `no free event id for block ${item.target_key}`,
    });
  }

  async function upsert(item: OutboundItem): Promise<WriteOutcome> {
    const calendarId = await resolveCalendar(item.target_calendar);
    const link = item.link?.calendar_id === calendarId ? item.link : null;
    if (!link || link.status !== "live") {
      return { kind: "done", link: await insert(item, calendarId, (link?.id_version ?? 0) + 1) };
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const event = await client.patchEvent(calendarId, link.external_id, eventBody(item), {
          sendUpdates: "none",
          ifMatch: link.etag ?? undefined,
        });
        return { kind: "done", link: written(calendarId, event, link.id_version) };
      } catch (error) {
        if (!isKind(error, "precondition_failed", "not_found", "gone")) throw error;
        const current = isKind(error, "precondition_failed")
          ? await client.getEvent(calendarId, link.external_id)
          : null;
        const winner = await providerChanged(calendarId, current, link.external_id);
        if (winner === "provider") {
          return { kind: "done", note: "superseded by an edit in the calendar" };
        }
        if (!current || current.status === "cancelled") {
          // The app's later change wins over a deletion: the block is created again.
          return { kind: "done", link: await insert(item, calendarId, link.id_version + 1) };
        }
        link.etag = current.etag ?? null;
      }
    }
    return { kind: "retry", error: "the event kept changing while it was patched" };
  }

  return blockWriter({
    provider: "Google",
    upsert,
    remove: async (link) => {
      await client.deleteEvent(link.calendar_id, link.external_id, { sendUpdates: "none" });
    },
  });
}
