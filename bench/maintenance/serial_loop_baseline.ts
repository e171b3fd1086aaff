// Bench-only baseline: the maintenance loop as the project ran it before the fan-out (one
// invocation, every watched calendar one after another, everything read and written through
// PostgREST table requests). For each calendar it loads the connection row, reads the
// calendar's live channels, and when none outlives the renewal lead it records a pending
// channel, opens a new one at Google (events.watch), marks it active, then stops each old
// channel at Google and marks it stopped. No claim, no lease, no budget: it renews whatever it
// finds, as fast as one loop goes.
//
// Only the token is not what the old code did: it decrypted the connection's stored access
// token, which needs the functions' encryption key; here the loop gets one access token per
// connection from the emulator's token endpoint instead (one Google request per connection).
import { accountAccessToken } from "../../devkit/google.ts";
import { stack } from "../../devkit/stack.ts";
import { sha256Hex } from "../../supabase/functions/_shared/security/crypto.ts";

export interface SerialLoopFigures {
  calendars: number;
  renewed: number;
  kept: number;
  /** PostgREST requests the loop made (each one database round trip). */
  dbRoundTrips: number;
  /** Requests to Google (the emulator): token, events.watch, channels.stop. */
  googleRequests: number;
  ms: number;
}

interface WatchedRow {
  connection_id: string;
  calendar_id: string;
  user_id: string;
}

interface ChannelRow {
  id: string;
  channel_id: string;
  resource_id: string | null;
  expiration: string | null;
  status: string;
}

/**
 * One pass over the watched calendars of `connectionIds` (the old loop walked every watched
 * calendar; the bench scopes it to its own fleet). `refreshTokens`: connection id → refresh
 * token; `now`: the database's clock (epoch ms) when the pass starts.
 */
export async function serialLoopMaintenance(options: {
  connectionIds: string[];
  refreshTokens: Map<string, string>;
  now: number;
  renewLeadMs: number;
  webhookUrl: string;
}): Promise<SerialLoopFigures> {
  const figures: SerialLoopFigures = {
    calendars: 0,
    renewed: 0,
    kept: 0,
    dbRoundTrips: 0,
    googleRequests: 0,
    ms: 0,
  };
  const rest = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    figures.dbRoundTrips++;
    const response = await fetch(`${stack.apiUrl}/rest/v1${path}`, {
      ...init,
      headers: {
        apikey: stack.serviceRoleKey,
        authorization: `Bearer ${stack.serviceRoleKey}`,
        "content-type": "application/json",
        prefer: "return=representation",
        ...init.headers,
      },
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`PostgREST ${path} → ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  };
  const google = async (path: string, token: string, body: unknown): Promise<Response> => {
    figures.googleRequests++;
    return await fetch(`${stack.googleEmulatorUrl}/calendar/v3${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  };

  const started = performance.now();
  const watched = await rest<WatchedRow[]>(
    `/calendar_sync_state?select=connection_id,calendar_id,user_id,` +
      `calendar_connections!inner(status,sync_enabled,provider)` +
      `&calendar_connections.status=eq.active&calendar_connections.sync_enabled=is.true` +
      `&calendar_connections.provider=eq.google` +
      `&connection_id=in.(${options.connectionIds.join(",")})`,
  );
  const tokens = new Map<string, string>();
  for (const calendar of watched) {
    figures.calendars++;
    const [connection] = await rest<{ id: string; status: string }[]>(
      `/calendar_connections?select=id,user_id,status,refresh_token_encrypted,` +
        `access_token_encrypted,access_token_expires_at&id=eq.${calendar.connection_id}`,
    );
    if (connection?.status !== "active") continue;
    let token = tokens.get(calendar.connection_id);
    if (!token) {
      figures.googleRequests++;
      token = await accountAccessToken(options.refreshTokens.get(calendar.connection_id)!);
      tokens.set(calendar.connection_id, token);
    }
    const live = await rest<ChannelRow[]>(
      `/calendar_webhook_channels?select=id,channel_id,resource_id,expiration,status` +
        `&connection_id=eq.${calendar.connection_id}` +
        `&calendar_id=eq.${encodeURIComponent(calendar.calendar_id)}` +
        `&status=in.(pending,active)&order=expiration.desc.nullslast`,
    );
    const healthy = live.some((channel) =>
      channel.status === "active" && channel.expiration !== null &&
      Date.parse(channel.expiration) > options.now + options.renewLeadMs
    );
    if (healthy) {
      figures.kept++;
      continue;
    }
    const channelId = crypto.randomUUID();
    const secret = crypto.randomUUID();
    const [pending] = await rest<{ id: string }[]>("/calendar_webhook_channels?select=id", {
      method: "POST",
      body: JSON.stringify({
        provider: "google",
        connection_id: calendar.connection_id,
        user_id: calendar.user_id,
        calendar_id: calendar.calendar_id,
        channel_id: channelId,
        token_hash: await sha256Hex(secret),
        status: "pending",
      }),
    });
    const watchResponse = await google(
      `/calendars/${encodeURIComponent(calendar.calendar_id)}/events/watch`,
      token,
      { id: channelId, type: "web_hook", address: options.webhookUrl, token: secret },
    );
    const watch = await watchResponse.json();
    if (!watchResponse.ok) throw new Error(`events.watch → ${JSON.stringify(watch)}`);
    await rest(`/calendar_webhook_channels?id=eq.${pending.id}`, {
      method: "PATCH",
      body: JSON.stringify({
        resource_id: watch.resourceId,
        resource_uri: watch.resourceUri,
        expiration: new Date(Number(watch.expiration)).toISOString(),
        status: "active",
      }),
    });
    for (const old of live) {
      if (old.resource_id) {
        const stopped = await google("/channels/stop", token, {
          id: old.channel_id,
          resourceId: old.resource_id,
        });
        await stopped.body?.cancel();
      }
      await rest(`/calendar_webhook_channels?id=eq.${old.id}`, {
        method: "PATCH",
        body: JSON.stringify({ status: "stopped" }),
      });
    }
    figures.renewed++;
  }
  figures.ms = performance.now() - started;
  return figures;
}
