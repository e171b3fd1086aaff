// A Google connection's credentials: the stored row, and a Calendar client that decrypts the
// refresh token, reuses the cached access token until shortly before it expires, and stores each
// new one (encrypted) so the next notification needs no token refresh.
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import type { FunctionEnv } from "../env.ts";
import { decryptSecret, encryptSecret } from "../security/crypto.ts";
import { GoogleCalendarClient, googleConfigFromEnv } from "../google/mod.ts";

export interface GoogleConnectionRow {
  id: string;
  user_id: string;
  external_account_id: string;
  status: "active" | "needs_reauth" | "revoked";
  sync_enabled: boolean;
  refresh_token_encrypted: string | null;
  access_token_encrypted: string | null;
  access_token_expires_at: string | null;
}

const CONNECTION_COLUMNS =
  "id,user_id,external_account_id,status,sync_enabled,refresh_token_encrypted," +
  "access_token_encrypted,access_token_expires_at";

export async function loadGoogleConnection(
  db: SupabaseClient,
  connectionId: string,
): Promise<GoogleConnectionRow | null> {
  return unwrap(
    await db.from("calendar_connections").select(CONNECTION_COLUMNS)
      .eq("id", connectionId).eq("provider", "google").maybeSingle(),
  ) as GoogleConnectionRow | null;
}

export async function createConnectionClient(
  env: FunctionEnv,
  db: SupabaseClient,
  connection: GoogleConnectionRow,
  now: () => number = Date.now,
): Promise<GoogleCalendarClient> {
  if (!connection.refresh_token_encrypted) {
    throw new Error(`connection ${connection.id} has no refresh token`);
  }
  const key = env.TOKEN_ENCRYPTION_KEY;
  const refreshToken = await decryptSecret(connection.refresh_token_encrypted, key, connection.id);
  return new GoogleCalendarClient({
    config: googleConfigFromEnv((name) => Deno.env.get(name)),
    refreshToken,
    now,
    getCachedAccessToken: async () => {
      if (!connection.access_token_encrypted || !connection.access_token_expires_at) return null;
      return {
        accessToken: await decryptSecret(connection.access_token_encrypted, key, connection.id),
        expiresAt: Date.parse(connection.access_token_expires_at),
      };
    },
    onAccessToken: async (grant) => {
      const update: Record<string, string> = {
        access_token_encrypted: await encryptSecret(grant.accessToken, key, connection.id),
        access_token_expires_at: new Date(grant.expiresAt).toISOString(),
      };
      if (grant.refreshToken) {
        update.refresh_token_encrypted = await encryptSecret(
          grant.refreshToken,
          key,
          connection.id,
        );
      }
      unwrap(await db.from("calendar_connections").update(update).eq("id", connection.id));
    },
  });
}
