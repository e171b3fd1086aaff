// Connecting a user's Google Calendar (setup-calendar-webhook): prove the refresh token works
// and resolve the calendar BEFORE storing anything (a bad token is the caller's 400, not a
// row), store the connection and its sealed tokens in ONE statement, make sure one push channel
// is open (under the calendar's maintenance claim), and run the initial full sync. Calling it
// again for the same account and calendar reuses everything.
import { HttpError } from "../../http/errors.ts";
import { ProviderApiError, ReauthRequiredError } from "../../net/provider_error.ts";
import { rpc } from "../../db/client.ts";
import { type Services, syncTarget } from "../../services.ts";
import { sealForConnection } from "../../sync/credentials.ts";
import type { TokenGrant } from "../../sync/token_source.ts";
import { GoogleCalendarClient } from "./calendar_client.ts";
import { ensureChannel } from "./channels.ts";
import { googleSettings } from "./config.ts";
import { GoogleOAuth } from "./oauth.ts";

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
  s: Services,
  input: ConnectGoogleInput,
): Promise<ConnectGoogleResult> {
  const google = googleSettings(s.config);
  const refreshToken = await obtainRefreshToken(
    new GoogleOAuth({ config: google, clock: s.clock }),
    input.credential,
  );

  let grant: TokenGrant | undefined;
  const probe = new GoogleCalendarClient({
    config: google,
    refreshToken,
    clock: s.clock,
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
    if (error instanceof ProviderApiError && error.kind === "not_found") {
      throw new HttpError(
        404,
        "calendar_not_found",
        `Google has no calendar "${input.calendarId}" that this account can see.`,
      );
    }
    throw error;
  }

  const key = {
    provider: "google" as const,
    user_id: input.userId,
    external_account_id: account.id,
  };
  const connection = await rpc<{ id: string; status: string }>(s.db, "connection_upsert", {
    p_user_id: input.userId,
    p_provider: "google",
    p_external_account_id: account.id,
    p_display_name: account.id,
    p_refresh_token_encrypted: await sealForConnection(s.config, key, probe.refreshToken!),
    p_access_token_encrypted: grant
      ? await sealForConnection(s.config, key, grant.accessToken)
      : null,
    p_access_token_expires_at: grant ? new Date(grant.expiresAt).toISOString() : null,
    p_scopes: grant?.scope ? grant.scope.split(" ") : [],
  });
  // Sync state survives channel renewal; a repeated setup asks for a sync but keeps the cursor.
  await rpc(s.db, "sync_watch_calendar", {
    p_connection_id: connection.id,
    p_calendar_id: calendar.id,
    p_time_zone: calendar.timeZone,
  });

  const target = { connectionId: connection.id, calendarId: calendar.id };
  const { channel, opened } = await ensureChannel(s, probe, target);
  const sync = await syncTarget(s, target);
  const { count } = await s.db.from("calendar_events").select("id", { count: "exact", head: true })
    .eq("connection_id", connection.id).eq("calendar_id", calendar.id);

  return {
    connection: {
      id: connection.id,
      provider: "google",
      external_account_id: account.id,
      status: connection.status,
    },
    calendar_id: calendar.id,
    channel: { id: channel.channel_id, expiration: channel.expiration, opened },
    sync: { full_sync: sync.fullSync, events_synced: sync.upserted, events_total: count ?? 0 },
  };
}
