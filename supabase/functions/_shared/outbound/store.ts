// The outbound queue's database side: claim a batch, complete, retry or fail an item, hold a
// connection's items — each one SQL function of migrations/*_write_back.sql.
import type { SupabaseClient } from "@supabase/supabase-js";
import { rpc } from "../db/client.ts";
import type { OutboundItem, WrittenBlock } from "./types.ts";

export interface OutboundStore {
  claim(limit: number, visibilitySeconds: number): Promise<OutboundItem[]>;
  complete(item: OutboundItem, link?: WrittenBlock, note?: string): Promise<boolean>;
  /** Transient failure: back off (or FAILED after the last attempt). */
  retry(item: OutboundItem, error: string, retryAfterMs?: number | null): Promise<string>;
  fail(item: OutboundItem, error: string): Promise<void>;
  /** invalid_grant: the connection needs re-authorisation; its items wait for it. */
  hold(connectionId: string, error: string): Promise<number>;
  /** Milliseconds until the next waiting item is due (0: now), or null when none waits. */
  nextDueInMs(): Promise<number | null>;
}

export function createPostgrestOutboundStore(db: SupabaseClient): OutboundStore {
  return {
    claim: (limit, visibilitySeconds) =>
      rpc<OutboundItem[]>(db, "outbound_claim", {
        p_limit: limit,
        p_visibility_seconds: visibilitySeconds,
      }),
    complete: (item, link, note) =>
      rpc<boolean>(db, "outbound_complete", {
        p_id: item.id,
        p_claim: item.claim,
        p_link: link ?? null,
        p_note: note ?? null,
      }),
    retry: (item, error, retryAfterMs) =>
      rpc<string>(db, "outbound_retry", {
        p_id: item.id,
        p_claim: item.claim,
        p_error: error.slice(0, 500),
        p_retry_after_seconds: retryAfterMs == null ? null : retryAfterMs / 1000,
      }),
    fail: async (item, error) => {
      await rpc(db, "outbound_retry", {
        p_id: item.id,
        p_claim: item.claim,
        p_error: error.slice(0, 500),
        p_permanent: true,
      });
    },
    hold: (connectionId, error) =>
      rpc<number>(db, "outbound_hold_connection", {
        p_connection_id: connectionId,
        p_error: error.slice(0, 500),
      }),
    nextDueInMs: async () => {
      const seconds = await rpc<number | string | null>(db, "outbound_next_due_seconds");
      return seconds === null ? null : Number(seconds) * 1000;
    },
  };
}
