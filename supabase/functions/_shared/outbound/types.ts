// The durable outbound queue's vocabulary, for every provider: an item claimed from the queue,
// what a provider's writer answers for it, and the writer interface a provider implements.
// The queue itself (enqueueing in the same transaction as the change, coalescing, visibility
// timeouts, backoff, holding) is SQL (migrations/*_write_back.sql); the processor
// (outbound/processor.ts) drains it.
import type { ConnectionRecord } from "../sync/types.ts";

/** A block written or deleted; or a disconnected connection released at its provider. */
export type OutboundOperation = "upsert_block" | "delete_block" | "revoke_token";

/** A planned block as the user's calendar should show it. */
export interface DesiredBlock {
  session_id: string;
  block_index: number;
  block_key: string;
  title: string;
  starts_at: string;
  ends_at: string;
  /** When the app changed it (the later change wins a conflict). */
  changed_at: string;
}

/** What was last written for a block at one target. */
export interface WriteBackLink {
  calendar_id: string;
  block_key: string;
  external_id: string;
  id_version: number;
  etag: string | null;
  written_title: string | null;
  written_starts_at: string | null;
  written_ends_at: string | null;
  status: "live" | "deleted";
}

export interface OutboundItem {
  id: number;
  claim: string;
  user_id: string | null;
  connection_id: string | null;
  provider: "google" | "calendly" | "notion";
  operation: OutboundOperation;
  /** 'planned' / 'primary' / a calendar id (Google), a data source id (Notion). */
  target_calendar: string;
  target_key: string;
  desired: Partial<DesiredBlock> & Record<string, unknown>;
  /** Cleanup of a connection that is gone (sealed credential and its binding). */
  credential: Record<string, unknown> | null;
  attempts: number;
  connection: (ConnectionRecord & { status: string }) | null;
  link: WriteBackLink | null;
}

/** The link a write leaves behind (recorded with the item's completion). */
export interface WrittenBlock {
  calendar_id: string;
  external_id: string;
  id_version: number;
  etag: string | null;
  title: string | null;
  starts_at: string | null;
  ends_at: string | null;
  deleted?: boolean;
}

export type WriteOutcome =
  | { kind: "done"; link?: WrittenBlock; note?: string }
  | { kind: "retry"; error: string; retryAfterMs?: number | null }
  | { kind: "failed"; error: string };

/** A provider's side of the queue: applies one claimed item (errors are classified by the caller). */
export interface OutboundWriter {
  apply(item: OutboundItem): Promise<WriteOutcome>;
}
