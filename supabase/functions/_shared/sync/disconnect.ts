// Disconnecting a connection: one SQL step (connection_disconnect) removes its mirror, sync
// state, channels and write-back links, leaves the connection 'revoked' without tokens, and
// queues the release at the provider (stop channels, revoke the grant) on the outbound queue in
// the same transaction; the queue's kick runs the release right after commit and retries it
// until it is done. Someone else's connection is "not found" (404).
import type { SupabaseClient } from "@supabase/supabase-js";
import { rpc } from "../db/client.ts";
import type { ProviderName } from "./types.ts";

export interface DisconnectResult {
  connection_id: string;
  provider: ProviderName;
  status: "revoked";
  calendars_removed: number;
  /** Channels or subscriptions the queued release stops at the provider. */
  channels_to_stop: number;
  /** The outbound queue item releasing the grant (null: nothing left to release). */
  release_item: number | null;
}

export function disconnectConnection(
  db: SupabaseClient,
  connectionId: string,
  /** The user asking; null when a server (service role) asks. */
  userId: string | null,
): Promise<DisconnectResult> {
  return rpc<DisconnectResult>(db, "connection_disconnect", {
    p_connection_id: connectionId,
    p_user_id: userId,
  });
}
