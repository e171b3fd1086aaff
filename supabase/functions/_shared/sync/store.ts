// The database side of the sync core, as one port the runner depends on (tested with the
// in-memory store beside it), and its implementation over PostgREST: every method is ONE call
// of a service-only SQL function in supabase/migrations/*_sync_core.sql (one transaction each).
import type { SupabaseClient } from "@supabase/supabase-js";
import { rpc } from "../db/client.ts";
import type {
  ChangePage,
  ClaimRefusal,
  ConnectionRecord,
  FullSyncSweep,
  SyncClaim,
  SyncTarget,
} from "./types.ts";

export interface StorePageInput extends SyncTarget {
  claim: string;
  generation: number;
  page: ChangePage;
  isFullSync: boolean;
  sweep: FullSyncSweep;
  leaseSeconds: number;
}

export type StorePageResult =
  | { status: "lost" }
  | {
    status: "stored";
    /** Items new to the mirror, and items that replaced a stored version. */
    inserted: number;
    updated: number;
    upserted: number;
    /** Rows removed or cancelled (removed ids, and what a full sync did not see). */
    deleted: number;
    /** Busy time changed, or a person edited a written-back block: the plan's inputs changed. */
    busyChanged: boolean;
    /** The last page was stored and the claim released. */
    finished: boolean;
    /** Marked during the run: the follow-up's claim, already taken. */
    followUp: SyncClaim | null;
  };

export interface SyncStore {
  claim(target: SyncTarget, leaseSeconds: number): Promise<SyncClaim | ClaimRefusal>;
  extendLease(target: SyncTarget, claim: string, leaseSeconds: number): Promise<boolean>;
  /** A new generation for a full sync under the same claim; null when the claim is lost. */
  restartFull(target: SyncTarget, claim: string): Promise<number | null>;
  storePage(input: StorePageInput): Promise<StorePageResult>;
  /** Ends a run without a last page (after a failure; `remark` keeps the calendar marked). */
  finish(
    target: SyncTarget,
    claim: string,
    error: string | null,
    options?: { remark?: boolean },
  ): Promise<{ finished: boolean; needsSync: boolean }>;
  markNeedsReauth(connectionId: string, reason: string): Promise<void>;
}

interface ClaimPayload {
  claimed: boolean;
  reason?: ClaimRefusal;
  claim: string;
  cursor: string | null;
  full_sync: boolean;
  generation: number | string;
  time_zone: string | null;
  last_synced_at: string | null;
  connection: ConnectionRecord;
}

export function toSyncClaim(payload: ClaimPayload): SyncClaim {
  return {
    claim: payload.claim,
    cursor: payload.cursor,
    fullSync: payload.full_sync,
    generation: Number(payload.generation),
    timeZone: payload.time_zone,
    lastSyncedAt: payload.last_synced_at,
    connection: payload.connection,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function createPostgrestSyncStore(db: SupabaseClient): SyncStore {
  return {
    async claim(target, leaseSeconds) {
      const payload = await rpc<ClaimPayload>(db, "sync_claim", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_lease_seconds: leaseSeconds,
      });
      return payload.claimed ? toSyncClaim(payload) : payload.reason ?? "not_marked";
    },

    extendLease(target, claim, leaseSeconds) {
      return rpc<boolean>(db, "sync_extend_lease", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_claim: claim,
        p_lease_seconds: leaseSeconds,
      });
    },

    async restartFull(target, claim) {
      const generation = await rpc<number | null>(db, "sync_restart_full", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_claim: claim,
      });
      return generation === null ? null : Number(generation);
    },

    async storePage(input) {
      const result = await rpc<{
        status: "stored" | "lost";
        inserted?: number;
        updated?: number;
        upserted?: number;
        deleted?: number;
        busy_changed?: boolean;
        finished?: boolean;
        follow_up?: ClaimPayload | null;
      }>(db, "sync_store_page", {
        p_connection_id: input.connectionId,
        p_calendar_id: input.calendarId,
        p_claim: input.claim,
        p_generation: input.generation,
        p_items: input.page.items,
        p_removed_ids: input.page.removedIds,
        p_is_full: input.isFullSync,
        p_next_cursor: input.page.nextCursor ?? null,
        p_time_zone: input.page.timeZone ?? null,
        p_unseen: input.sweep.unseen,
        p_window_from: iso(input.sweep.windowFrom),
        p_window_to: iso(input.sweep.windowTo),
        p_lease_seconds: input.leaseSeconds,
      });
      if (result.status === "lost") return { status: "lost" };
      return {
        status: "stored",
        inserted: result.inserted ?? 0,
        updated: result.updated ?? 0,
        upserted: result.upserted ?? 0,
        deleted: result.deleted ?? 0,
        busyChanged: result.busy_changed ?? false,
        finished: result.finished ?? false,
        followUp: result.follow_up ? toSyncClaim(result.follow_up) : null,
      };
    },

    async finish(target, claim, error, options = {}) {
      const result = await rpc<{ finished: boolean; needs_sync: boolean }>(db, "sync_finish", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
        p_claim: claim,
        p_error: error,
        p_remark: options.remark ?? false,
      });
      return { finished: result.finished, needsSync: result.needs_sync };
    },

    async markNeedsReauth(connectionId, reason) {
      await rpc(db, "connection_mark_needs_reauth", {
        p_connection_id: connectionId,
        p_reason: reason,
      });
    },
  };
}
