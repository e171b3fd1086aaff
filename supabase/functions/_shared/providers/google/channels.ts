// Push channels (events.watch) for a watched calendar. A channel gets a UUID id and a random
// secret token of which only the SHA-256 hash is stored. Renewal opens the new channel first and
// stops the old one after, so no change falls between the two.
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import { type FunctionEnv, googleWebhookUrl } from "../env.ts";
import { randomToken, sha256Hex } from "../security/crypto.ts";
import type { GoogleCalendarClient } from "../google/mod.ts";

export interface ChannelRow {
  id: string;
  channel_id: string;
  resource_id: string | null;
  expiration: string | null;
  status: string;
}

export interface WatchedCalendar {
  connectionId: string;
  userId: string;
  calendarId: string;
}

/** Channels are renewed this long before they expire (the hourly cron has many chances). */
export const RENEW_BEFORE_MS = 24 * 3600_000;

async function liveChannels(db: SupabaseClient, target: WatchedCalendar): Promise<ChannelRow[]> {
  return unwrap(
    await db.from("calendar_webhook_channels")
      .select("id,channel_id,resource_id,expiration,status")
      .eq("connection_id", target.connectionId).eq("calendar_id", target.calendarId)
      .in("status", ["pending", "active"])
      .order("expiration", { ascending: false, nullsFirst: false }),
  ) as ChannelRow[];
}

async function openChannel(
  env: FunctionEnv,
  db: SupabaseClient,
  client: GoogleCalendarClient,
  target: WatchedCalendar,
): Promise<ChannelRow> {
  const channelId = crypto.randomUUID();
  const token = randomToken(32);
  // Stored before the watch call: Google may deliver the `sync` message before answering.
  const pending = unwrap(
    await db.from("calendar_webhook_channels").insert({
      connection_id: target.connectionId,
      user_id: target.userId,
      calendar_id: target.calendarId,
      channel_id: channelId,
      token_hash: await sha256Hex(token),
      status: "pending",
    }).select("id").single(),
  ) as { id: string };
  try {
    const watch = await client.watchEvents(target.calendarId, {
      id: channelId,
      address: googleWebhookUrl(env),
      token,
      ttlSeconds: env.GOOGLE_CHANNEL_TTL_SECONDS,
    });
    return unwrap(
      await db.from("calendar_webhook_channels").update({
        resource_id: watch.resourceId,
        resource_uri: watch.resourceUri,
        expiration: new Date(watch.expiration).toISOString(),
        status: "active",
      }).eq("id", pending.id).select("id,channel_id,resource_id,expiration,status").single(),
    ) as ChannelRow;
  } catch (error) {
    unwrap(
      await db.from("calendar_webhook_channels").update({ status: "failed" }).eq("id", pending.id),
    );
    throw error;
  }
}

async function stopChannel(db: SupabaseClient, client: GoogleCalendarClient, channel: ChannelRow) {
  if (channel.resource_id) {
    try {
      await client.stopChannel(channel.channel_id, channel.resource_id);
    } catch (error) {
      // It expires on its own; the receiver ignores stopped channels meanwhile.
      console.error(`[channels] could not stop ${channel.channel_id}:`, error);
    }
  }
  unwrap(
    await db.from("calendar_webhook_channels").update({ status: "stopped" }).eq("id", channel.id),
  );
}

/**
 * Makes sure the calendar has one live channel that is not about to expire. Reuses it when it
 * has, otherwise opens a new one and then stops the old ones. Returns the live channel.
 */
export async function ensureChannel(
  env: FunctionEnv,
  db: SupabaseClient,
  client: GoogleCalendarClient,
  target: WatchedCalendar,
  options: { now?: number; force?: boolean } = {},
): Promise<{ channel: ChannelRow; opened: boolean }> {
  const now = options.now ?? Date.now();
  const existing = await liveChannels(db, target);
  const current = existing.find((channel) =>
    channel.status === "active" && channel.expiration &&
    Date.parse(channel.expiration) > now + RENEW_BEFORE_MS
  );
  if (current && !options.force) return { channel: current, opened: false };
  const channel = await openChannel(env, db, client, target);
  for (const old of existing) await stopChannel(db, client, old);
  return { channel, opened: true };
}
