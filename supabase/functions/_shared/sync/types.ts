// The provider-neutral sync core's vocabulary: what a watched calendar is, what a connection
// looks like to the core, what a mirrored item is, and the adapter interface every provider
// implements. A provider's folder (providers/<name>/) holds only what this cannot know: its
// client, its mapping to MirrorItem, its busy classification, and its change strategy.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import type { OutboundWriter } from "../outbound/types.ts";
import type { AccessToken } from "./token_source.ts";

export type ProviderName = "google" | "calendly" | "notion";

/** One watched calendar: a Google calendar, a Calendly user's meetings, a Notion data source. */
export interface SyncTarget {
  connectionId: string;
  calendarId: string;
}

/** A connection as the core sees it (token columns still encrypted). */
export interface ConnectionRecord {
  id: string;
  user_id: string;
  provider: ProviderName;
  external_account_id: string;
  settings: Record<string, unknown>;
  refresh_token_encrypted: string | null;
  access_token_encrypted: string | null;
  access_token_expires_at: string | null;
}

/** What a claim hands the run that holds it (one round trip: everything the run needs). */
export interface SyncClaim {
  claim: string;
  /** null → a full sync. */
  cursor: string | null;
  fullSync: boolean;
  generation: number;
  timeZone: string | null;
  lastSyncedAt: string | null;
  connection: ConnectionRecord;
}

export type ClaimRefusal = "missing" | "inactive" | "running" | "not_marked";

/** One mirrored item, classified by its provider (busy or free) when it is stored. */
export interface MirrorItem {
  external_id: string;
  summary: string | null;
  /** ISO-8601 UTC instant. */
  starts_at: string;
  /** ISO-8601 UTC instant, exclusive. */
  ends_at: string;
  all_day: boolean;
  status: "confirmed" | "tentative" | "cancelled";
  is_busy: boolean;
  is_tentative: boolean;
  /** The block this item was written for, when this bundle wrote it (never busy for its user). */
  app_tag: string | null;
  /** The provider's version; an older version never replaces a newer one. */
  etag: string | null;
  external_updated_at: string | null;
  /** Provider-specific fields, merged into the stored ones. */
  details: Record<string, unknown>;
}

/** One page of changes from a provider. */
export interface ChangePage {
  items: MirrorItem[];
  /** Items the provider says are gone (deleted from the mirror). */
  removedIds: string[];
  /** Set on the last page only: where the next incremental sync starts. */
  nextCursor?: string;
  timeZone?: string | null;
}

/** What becomes of rows a full sync did not see. */
export interface FullSyncSweep {
  unseen: "delete" | "cancel";
  /** Only rows starting inside this window (epoch ms) are swept; null = all. */
  windowFrom: number | null;
  windowTo: number | null;
}

/** Thrown by a strategy when the provider says the cursor is no longer valid. */
export class CursorExpiredError extends Error {
  constructor(message = "the sync cursor is no longer valid; a full sync is needed") {
    super(message);
    this.name = "CursorExpiredError";
  }
}

/**
 * How a provider lists changes. The runner owns claims, leases, storing, follow-ups and errors;
 * the strategy only turns "from this cursor" (null = full) into pages of mirror items.
 */
export interface ChangeStrategy {
  /** Pages from `cursor` (null: a full sync). Throws CursorExpiredError to restart in full. */
  pages(claim: { cursor: string | null; timeZone: string | null }): AsyncIterable<ChangePage>;
  /** How a completed full sync treats rows it did not see. */
  fullSyncSweep(): FullSyncSweep;
  /** Provider API requests made so far (for the log line). */
  requests(): number;
  /** A provider's own completion line for the function log (e.g. Calendly's counts). */
  completionLine?(
    summary: { fullSync: boolean; inserted: number; updated: number; deleted: number },
  ): string;
}

/** What an adapter may use to build its client: the database, the configuration, the clock. */
export interface AdapterContext {
  db: SupabaseClient;
  config: Config;
  clock: Clock;
}

/** A live push channel or webhook subscription of a calendar, as maintenance sees it. */
export interface LiveChannel {
  id: string;
  channel_id: string;
  resource_id: string | null;
  expiration: string | null;
  status: "pending" | "active" | "stopping";
  created_at?: string;
}

/** One calendar's maintenance, under its held maintenance claim. */
export interface MaintenanceWork {
  connection: ConnectionRecord;
  target: SyncTarget;
  claim: string;
  /** The database's clock (epoch ms): due-ness follows one clock. */
  now: number;
  channels: LiveChannel[];
  /** Why it is due (renew, cleanup, stale_mark, backup, manual). */
  reasons: string[];
  /** Renew even what is not due (a user's forced refresh). */
  force: boolean;
}

/** What a provider's outbound writer may use: the adapter context and a way to sync a target. */
export interface WriterContext extends AdapterContext {
  syncTarget(target: SyncTarget): Promise<unknown>;
}

/** A provider plugged into the core. Provider-specific extras (channels, subscriptions) sit beside it. */
export interface ProviderAdapter {
  name: ProviderName;
  /** The strategy listing a watched calendar's changes, with a client for the connection. */
  changeStrategy(
    context: AdapterContext,
    connection: ConnectionRecord,
    target: SyncTarget,
  ): ChangeStrategy;
  /**
   * Keeps the calendar's push path alive (Google: renew channels, stop replaced ones; Calendly:
   * repair a disabled subscription). Returns whether something was renewed.
   */
  maintainPush?(context: AdapterContext, work: MaintenanceWork): Promise<{ renewed: boolean }>;
  /** Applies outbound queue items (write-back) with a client for the connection. */
  writer?(context: WriterContext, connection: ConnectionRecord): OutboundWriter;
  /**
   * Releases what a disconnected (or deleted) connection held at the provider: removes what
   * write-back wrote there, stops its push channels or webhook subscriptions, then revokes its
   * grant. Must be safe to repeat (an item is retried until it succeeds): an already-removed
   * item, already-stopped channel or revoked token counts as done.
   */
  releaseAccess?(context: AdapterContext, release: AccessRelease): Promise<ReleaseReport>;
}

/** A channel or subscription still live at the provider when its connection went away. */
export interface ReleasedChannel {
  calendar_id: string;
  channel_id: string;
  resource_id: string | null;
  resource_uri: string | null;
}

/** What is needed to act once more on behalf of a connection whose rows are gone. */
export interface AccessRelease {
  provider: ProviderName;
  userId: string;
  externalAccountId: string;
  refreshToken: string | null;
  /** The last access token stored, if it has not expired. */
  accessToken: AccessToken | null;
  channels: ReleasedChannel[];
  /** Items write-back wrote outside the planned calendar (events, pages) that are still live. */
  written: WrittenItem[];
  /** The calendar write-back created for its blocks, removed as a whole; null if none. */
  plannedCalendarId: string | null;
  /** The connection's non-secret settings (Notion: whether it was an OAuth grant). */
  settings: Record<string, unknown>;
}

/** One item write-back wrote at the provider. */
export interface WrittenItem {
  calendar_id: string;
  external_id: string;
}

export interface ReleaseReport {
  /** Written items removed, and the planned calendar (counted as one) if there was one. */
  writtenRemoved: number;
  /** Written items the provider refused to remove for good (they stay where they are). */
  writtenKept: number;
  channelsStopped: number;
  /** Channels the provider no longer knew (stopped or expired already). */
  channelsGone: number;
  /** False: the provider had revoked it already; null: the provider offers no revocation. */
  tokenRevoked: boolean | null;
}
