// The database side of Google sync, as one interface the sync core depends on (so it is tested
// with a fake), and its implementation over PostgREST RPCs: every step that must be atomic is a
// single SQL function in supabase/migrations/*_google_calendar_sync.sql.
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";

export interface SyncTarget {
  connectionId: string;
  calendarId: string;
}

export interface SyncClaim {
  /** null → a full sync. */
  syncToken: string | null;
  generation: number;
  timeZone: string | null;
}

export interface MirrorEventInput {
  external_id: string;
  summary: string | null;
  starts_at: string;
  ends_at: string;
  all_day: boolean;
  status: string;
  transparency: string;
  self_response_status: string | null;
  event_type: string;
  recurring_event_id: string | null;
  original_start_time: string | null;
  ical_uid: string | null;
  etag: string | null;
  external_updated_at: string | null;
  app_owned: boolean;
  is_busy: boolean;
  is_tentative: boolean;
}

export interface StorePageInput extends SyncTarget {
  generation: number;
  events: MirrorEventInput[];
  cancelledIds: string[];
  isFullSync: boolean;
  /** Set on the last page only: moves the sync token in the same transaction. */
  nextSyncToken: string | null;
  timeZone: string | null;
}

export interface StorePageResult {
  stale: boolean;
  upserted: number;
  deleted: number;
  busyChanged: boolean;
}

export interface GoogleSyncStore {
  claimSync(target: SyncTarget, leaseSeconds: number): Promise<SyncClaim | null>;
  restartFullSync(target: SyncTarget): Promise<number>;
  storePage(page: StorePageInput): Promise<StorePageResult>;
  finishSync(target: SyncTarget, error: string | null): Promise<{ needsSync: boolean }>;
  markNeedsReauth(connectionId: string, reason: string): Promise<void>;
}

export class PostgrestGoogleSyncStore implements GoogleSyncStore {
  constructor(private readonly db: SupabaseClient) {}

  async claimSync(target: SyncTarget, leaseSeconds: number): Promise<SyncClaim | null> {
    const claim = unwrap(
      await this.db.rpc("google_claim_sync", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_lease_seconds: leaseSeconds,
      }),
    ) as { sync_token: string | null; generation: number; time_zone: string | null } | null;
    if (!claim) return null;
    return {
      syncToken: claim.sync_token,
      generation: Number(claim.generation),
      timeZone: claim.time_zone,
    };
  }

  async restartFullSync(target: SyncTarget): Promise<number> {
    const generation = unwrap(
      await this.db.rpc("google_restart_full_sync", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
      }),
    );
    return Number(generation);
  }

  async storePage(page: StorePageInput): Promise<StorePageResult> {
    const result = unwrap(
      await this.db.rpc("google_store_event_page", {
        p_connection_id: page.connectionId,
        p_calendar_id: page.calendarId,
        p_generation: page.generation,
        p_events: page.events,
        p_cancelled_ids: page.cancelledIds,
        p_is_full_sync: page.isFullSync,
        p_next_sync_token: page.nextSyncToken,
        p_time_zone: page.timeZone,
      }),
    ) as { stale: boolean; upserted?: number; deleted?: number; busy_changed?: boolean };
    return {
      stale: result.stale,
      upserted: result.upserted ?? 0,
      deleted: result.deleted ?? 0,
      busyChanged: result.busy_changed ?? false,
    };
  }

  async finishSync(target: SyncTarget, error: string | null): Promise<{ needsSync: boolean }> {
    const result = unwrap(
      await this.db.rpc("google_finish_sync", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_error: error,
      }),
    ) as { needs_sync: boolean };
    return { needsSync: result.needs_sync };
  }

  async markNeedsReauth(connectionId: string, reason: string): Promise<void> {
    unwrap(
      await this.db.from("calendar_connections")
        .update({ status: "needs_reauth", last_error: reason })
        .eq("id", connectionId),
    );
  }
}
