// A connection's credentials, for every provider: tokens are sealed with AES-256-GCM under
// TOKEN_ENCRYPTION_KEY (the database never sees the key) and bound to the connection's natural
// key (provider, user, external account) as associated data, so a ciphertext copied to another
// row does not open there, and a connection and its tokens can be written in one statement
// (the key is known before the row exists). The durable token store is the connection's row as
// seen by TokenSource: a fresh stored token, or the row's refresh claim (sync/token_source.ts).
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../clock.ts";
import type { Config } from "../config.ts";
import { rpc } from "../db/client.ts";
import { openSecret, sealSecret } from "../security/crypto.ts";
import {
  type AccessToken,
  type DurableRefreshStart,
  type DurableTokenStore,
  type RefreshGrant,
  TokenSource,
} from "./token_source.ts";
import type { AccessRelease, ConnectionRecord } from "./types.ts";

type ConnectionKey = Pick<ConnectionRecord, "provider" | "user_id" | "external_account_id">;

/** The associated data that binds a sealed secret to its connection. */
export function connectionContext(connection: ConnectionKey): string {
  return `calendar_connections:${connection.provider}:${connection.user_id}:` +
    connection.external_account_id;
}

export function sealForConnection(
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  connection: ConnectionKey,
  plaintext: string,
): Promise<string> {
  return sealSecret(plaintext, config.TOKEN_ENCRYPTION_KEY, connectionContext(connection));
}

export function openForConnection(
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  connection: ConnectionKey,
  sealed: string,
): Promise<string> {
  return openSecret(sealed, config.TOKEN_ENCRYPTION_KEY, connectionContext(connection));
}

/** The stored access token of a connection, if any (still to be checked for freshness). */
export async function storedAccessToken(
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  connection: ConnectionRecord,
): Promise<AccessToken | null> {
  if (!connection.access_token_encrypted || !connection.access_token_expires_at) return null;
  return {
    accessToken: await openForConnection(config, connection, connection.access_token_encrypted),
    expiresAt: Date.parse(connection.access_token_expires_at),
  };
}

/** The connection's row as TokenSource's durable store (serialised, rotation-safe refresh). */
export function durableTokenStore(
  db: SupabaseClient,
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  connection: ConnectionRecord,
): DurableTokenStore {
  return {
    async begin(rejected): Promise<DurableRefreshStart> {
      const rejectedSealed = rejected === null ? null : connection.access_token_encrypted;
      const start = await rpc<{
        state: "fresh" | "claimed" | "busy" | "inactive";
        access_token_encrypted?: string;
        access_token_expires_at?: string;
        claim?: string;
        refresh_token_encrypted?: string | null;
        retry_in_ms?: number;
        status?: string;
      }>(db, "connection_begin_token_refresh", {
        p_connection_id: connection.id,
        p_rejected_access_token_encrypted: rejectedSealed,
      });
      switch (start.state) {
        case "fresh":
          connection.access_token_encrypted = start.access_token_encrypted!;
          return {
            state: "fresh",
            token: {
              accessToken: await openForConnection(
                config,
                connection,
                start.access_token_encrypted!,
              ),
              expiresAt: Date.parse(start.access_token_expires_at!),
            },
          };
        case "claimed":
          if (!start.refresh_token_encrypted) {
            await rpc(db, "connection_abort_token_refresh", {
              p_connection_id: connection.id,
              p_claim: start.claim,
              p_error: "no refresh token stored",
              p_needs_reauth: true,
            });
            return { state: "inactive", status: "needs_reauth" };
          }
          return {
            state: "claimed",
            claim: start.claim!,
            refreshToken: await openForConnection(
              config,
              connection,
              start.refresh_token_encrypted,
            ),
          };
        case "busy":
          return { state: "busy", retryInMs: start.retry_in_ms ?? 100 };
        default:
          return { state: "inactive", status: start.status ?? "inactive" };
      }
    },

    async finish(claim, grant) {
      const accessSealed = await sealForConnection(config, connection, grant.accessToken);
      await rpc(db, "connection_finish_token_refresh", {
        p_connection_id: connection.id,
        p_claim: claim,
        p_access_token_encrypted: accessSealed,
        p_access_token_expires_at: new Date(grant.expiresAt).toISOString(),
        p_refresh_token_encrypted: grant.refreshToken
          ? await sealForConnection(config, connection, grant.refreshToken)
          : null,
      });
      connection.access_token_encrypted = accessSealed;
      connection.access_token_expires_at = new Date(grant.expiresAt).toISOString();
    },

    async abort(claim, error, needsReauth) {
      await rpc(db, "connection_abort_token_refresh", {
        p_connection_id: connection.id,
        p_claim: claim,
        p_error: error.slice(0, 500),
        p_needs_reauth: needsReauth,
      });
    },
  };
}

/** The token source of a stored connection: its cached token first, refreshes serialised. */
export function connectionTokenSource(
  db: SupabaseClient,
  config: Pick<Config, "TOKEN_ENCRYPTION_KEY">,
  connection: ConnectionRecord,
  grant: RefreshGrant,
  clock?: Clock,
): TokenSource {
  return new TokenSource({
    grant,
    initial: () => storedAccessToken(config, connection),
    durable: durableTokenStore(db, config, connection),
    clock,
  });
}

/**
 * The token source of a released connection (disconnected, or its user deleted): in memory
 * only, from the grant the release item carried, since the row is revoked or gone. Null when
 * the release holds no token to act with. A single-use refresh token rotated here is not kept:
 * the grant is revoked (or abandoned) right after.
 */
export function releaseTokenSource(
  release: AccessRelease,
  grant: RefreshGrant,
  clock?: Clock,
): TokenSource | null {
  if (!release.refreshToken && !release.accessToken) return null;
  return new TokenSource({
    grant,
    refreshToken: release.refreshToken ?? undefined,
    initial: release.accessToken,
    clock,
  });
}
