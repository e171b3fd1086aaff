// Connecting a user's Google Calendar (setup-calendar-webhook): keep the refresh token
// (encrypted), resolve the calendar, make sure one push channel is open, and run the initial
// full sync. Calling it again for the same account and calendar reuses everything.
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import type { FunctionEnv } from "../env.ts";
import { HttpError } from "../http/responses.ts";
import { encryptSecret } from "../security/crypto.ts";
import {
  type AccessTokenGrant,
  GoogleCalendarClient,
  googleConfigFromEnv,
  GoogleOAuth,
  ReauthRequiredError,
} from "../google/mod.ts";
import { ensureChannel } from "./google_channels.ts";
import { runGoogleSync } from "./google_runner.ts";

export type GoogleCredentialInput =
  | { refreshToken: string }
  | { code: string; redirectUri: string };

export interface ConnectGoogleInput {
  userId: string;
  credential: GoogleCredentialInput;
  calendarId: string;
}

export interface ConnectGoogleResult {
  connection: { id: string; provider: "google"; external_account_id: string; status: string };
  calendar_id: string;
  channel: { id: string; expiration: string | null; opened: boolean };
  sync: { full_sync: boolean; events_synced: number; events_total: number };
}

async function obtainRefreshToken(
  oauth: GoogleOAuth,
  credential: GoogleCredentialInput,
): Promise<string> {
  if ("refreshToken" in credential) return credential.refreshToken;
  try {
    const grant = await oauth.exchangeAuthorizationCode(credential.code, credential.redirectUri);
    if (!grant.refreshToken) {
      throw new HttpError(
        400,
        "no_refresh_token",
        "Google issued no refresh token: request offline access with prompt=consent.",
      );
    }
    return grant.refreshToken;
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      throw new HttpError(400, "invalid_code", "The authorization code was rejected by Google.");
    }
    throw error;
  }
}

export async function connectGoogleCalendar(
  env: FunctionEnv,
  db: SupabaseClient,
  input: ConnectGoogleInput,
): Promise<ConnectGoogleResult> {
  const config = googleConfigFromEnv((name) => Deno.env.get(name));
  const refreshToken = await obtainRefreshToken(new GoogleOAuth({ config }), input.credential);

  // Probe with the token before storing anything: a bad token is the caller's 400, not a row.
  let grant: AccessTokenGrant | undefined;
  const probe = new GoogleCalendarClient({
    config,
    refreshToken,
    onAccessToken: (fresh) => {
      grant = fresh;
    },
  });
  let account: { id: string; timeZone: string | null };
  let calendar: { id: string; timeZone: string | null };
  try {
    account = await probe.getCalendar("primary");
    calendar = input.calendarId === "primary" ? account : await probe.getCalendar(input.calendarId);
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      throw new HttpError(400, "invalid_refresh_token", "Google rejected the refresh token.");
    }
    throw error;
  }

  const connection = unwrap(
    await db.from("calendar_connections").upsert({
      user_id: input.userId,
      provider: "google",
      external_account_id: account.id,
      status: "active",
      last_error: null,
    }, { onConflict: "user_id,provider,external_account_id" })
      .select("id,external_account_id,status").single(),
  ) as { id: string; external_account_id: string; status: string };

  const key = env.TOKEN_ENCRYPTION_KEY;
  const tokens: Record<string, string> = {
    refresh_token_encrypted: await encryptSecret(refreshToken, key, connection.id),
  };
  if (grant) {
    tokens.access_token_encrypted = await encryptSecret(grant.accessToken, key, connection.id);
    tokens.access_token_expires_at = new Date(grant.expiresAt).toISOString();
  }
  unwrap(await db.from("calendar_connections").update(tokens).eq("id", connection.id));

  // Sync state survives channel renewal; a repeated setup asks for a sync but keeps the token.
  unwrap(
    await db.from("calendar_sync_tokens").upsert({
      connection_id: connection.id,
      calendar_id: calendar.id,
      user_id: input.userId,
      needs_sync: true,
      time_zone: calendar.timeZone,
    }, { onConflict: "connection_id,calendar_id" }),
  );

  const target = { connectionId: connection.id, userId: input.userId, calendarId: calendar.id };
  const { channel, opened } = await ensureChannel(env, db, probe, target);
  const sync = await runGoogleSync(env, db, target);
  const { count } = await db.from("calendar_events").select("id", { count: "exact", head: true })
    .eq("connection_id", connection.id).eq("calendar_id", calendar.id);

  return {
    connection: { ...connection, provider: "google" },
    calendar_id: calendar.id,
    channel: { id: channel.channel_id, expiration: channel.expiration, opened },
    sync: { full_sync: sync.fullSync, events_synced: sync.upserted, events_total: count ?? 0 },
  };
}
