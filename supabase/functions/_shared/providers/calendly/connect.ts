// Connecting a user's Calendly account (setup-calendar-webhook with provider "calendly"): get
// tokens (an authorization code, or a refresh token the app holds — which Calendly's rotation
// consumes, so the new one is what gets stored), learn who the user is, store the connection
// and its sealed tokens in ONE statement, make sure one webhook subscription exists (under the
// calendar's maintenance claim; calling setup again creates no second one), and run the first,
// FULL sync.
import { rpc } from "../../db/client.ts";
import { HttpError } from "../../http/errors.ts";
import { ReauthRequiredError } from "../../net/provider_error.ts";
import { type Services, syncTarget } from "../../services.ts";
import { sealForConnection } from "../../sync/credentials.ts";
import { withMaintenanceClaim } from "../../sync/maintenance_claim.ts";
import type { ConnectionRecord } from "../../sync/types.ts";
import { TokenSource } from "../../sync/token_source.ts";
import { CalendlyClient, calendlyTokenEndpoint } from "./client.ts";
import { calendlyClientFor } from "./client_for.ts";
import { calendlySettings } from "./config.ts";
import { ensureSubscription } from "./subscription.ts";

export type CalendlyCredentialInput =
  | { refreshToken: string }
  | { code: string; redirectUri: string };

export interface ConnectCalendlyResult {
  connection: { id: string; provider: "calendly"; external_account_id: string; status: string };
  subscription: { uri: string; state: string; created: boolean };
  sync: {
    full_sync: boolean;
    new: number;
    updated: number;
    deleted: number;
    meetings_total: number;
  };
}

export async function connectCalendly(
  s: Services,
  input: { userId: string; credential: CalendlyCredentialInput },
): Promise<ConnectCalendlyResult> {
  const settings = calendlySettings(s.config);
  const endpoint = calendlyTokenEndpoint(settings, s.clock);
  let grant;
  try {
    grant = "code" in input.credential
      ? await endpoint.exchangeCode(input.credential.code, input.credential.redirectUri)
      : await endpoint.refresh(input.credential.refreshToken);
  } catch (error) {
    if (error instanceof ReauthRequiredError) {
      throw new HttpError(
        400,
        "code" in input.credential ? "invalid_code" : "invalid_refresh_token",
        "Calendly rejected the authorization: connect the account again.",
      );
    }
    throw error;
  }
  if (!grant.refreshToken) {
    throw new HttpError(502, "provider_error", "Calendly issued no refresh token.");
  }
  const probe = new CalendlyClient({
    config: settings,
    clock: s.clock,
    tokens: new TokenSource({
      grant: endpoint.refresh,
      refreshToken: grant.refreshToken,
      initial: grant,
      clock: s.clock,
    }),
  });
  const user = await probe.me();
  // A refresh during the probe (rotation) leaves the newest refresh token in the source.
  const refreshToken = probe.tokens.refreshToken ?? grant.refreshToken;
  const key = {
    provider: "calendly" as const,
    user_id: input.userId,
    external_account_id: user.uri,
  };
  const stored = await rpc<{ id: string; status: string; settings: Record<string, unknown> }>(
    s.db,
    "connection_upsert",
    {
      p_user_id: input.userId,
      p_provider: "calendly",
      p_external_account_id: user.uri,
      p_display_name: user.email,
      p_refresh_token_encrypted: await sealForConnection(s.config, key, refreshToken),
      p_access_token_encrypted: await sealForConnection(s.config, key, grant.accessToken),
      p_access_token_expires_at: new Date(grant.expiresAt).toISOString(),
      p_scopes: grant.scope ? grant.scope.split(" ") : [],
      p_settings: { organization: user.current_organization },
    },
  );
  await rpc(s.db, "sync_watch_calendar", {
    p_connection_id: stored.id,
    p_calendar_id: user.uri,
    p_time_zone: user.timezone,
  });
  const connection: ConnectionRecord = {
    id: stored.id,
    user_id: input.userId,
    provider: "calendly",
    external_account_id: user.uri,
    settings: stored.settings,
    refresh_token_encrypted: null,
    access_token_encrypted: await sealForConnection(s.config, key, grant.accessToken),
    access_token_expires_at: new Date(grant.expiresAt).toISOString(),
  };
  const target = { connectionId: stored.id, calendarId: user.uri };
  const client = calendlyClientFor(s, connection);
  const subscription = await withMaintenanceClaim(
    s,
    target,
    (held) =>
      ensureSubscription(s, client, {
        connection,
        target,
        claim: held.claim,
        now: held.now,
        channels: held.channels,
        reasons: ["setup"],
        force: false,
      }, { check: true }),
  );
  const sync = await syncTarget(s, target);
  const { count } = await s.db.from("calendar_events").select("id", { count: "exact", head: true })
    .eq("connection_id", stored.id).neq("status", "cancelled");
  return {
    connection: {
      id: stored.id,
      provider: "calendly",
      external_account_id: user.uri,
      status: stored.status,
    },
    subscription,
    sync: {
      full_sync: sync.fullSync,
      new: sync.inserted,
      updated: sync.updated,
      deleted: sync.deleted,
      meetings_total: count ?? 0,
    },
  };
}
