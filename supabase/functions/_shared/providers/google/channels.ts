// Push channels (events.watch) for a watched calendar, always under the calendar's maintenance
// claim, so concurrent setups, manual refreshes and cron batches never open two channels for
// one calendar. A channel gets a UUID id and a random secret token of which only the SHA-256
// hash is stored, and is recorded (pending) BEFORE it is opened: nothing opened is ever unknown.
// Renewal opens the new channel first, activates it (the replaced ones become 'stopping' in the
// same transaction) and then stops the old ones at Google, so no change falls between the two.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock, Sleep } from "../../clock.ts";
import type { Config } from "../../config.ts";
import { rpc } from "../../db/client.ts";
import { describeError } from "../../net/provider_error.ts";
import { randomToken, sha256Hex } from "../../security/crypto.ts";
import { withMaintenanceClaim } from "../../sync/maintenance_claim.ts";
import type { SyncTarget } from "../../sync/types.ts";
import type { GoogleCalendarClient } from "./calendar_client.ts";
import { googleWebhookUrl } from "./config.ts";

/** Channels are renewed this long before they expire. */
export const RENEW_BEFORE_MS = 24 * 3600_000;

export interface ChannelRow {
  id: string;
  channel_id: string;
  resource_id: string | null;
  expiration: string | null;
  status: "pending" | "active" | "stopping";
}

export interface ChannelContext {
  db: SupabaseClient;
  config: Config;
  clock: Clock;
  sleep?: Sleep;
}

/** The calendar's active channel that is not due for renewal at `now`, if any. */
export function healthyChannel(channels: readonly ChannelRow[], now: number): ChannelRow | null {
  return channels.find((channel) =>
    channel.status === "active" && channel.expiration !== null &&
    Date.parse(channel.expiration) > now + RENEW_BEFORE_MS
  ) ?? null;
}

/**
 * Stops channels at Google and records it; a failure leaves them 'stopping' for a retry.
 * `calendarResourceId`: the resource id of another channel of the same calendar. Google's
 * resourceId names the watched resource (the calendar's events), not the channel, so it stands
 * in for a channel whose own was never stored: a worker that died between events.watch and
 * activation, whose `sync` message was lost too, left a channel live at Google that can only be
 * stopped with it. (A channel that was never opened answers 404, which counts as stopped.)
 */
export async function stopChannels(
  context: ChannelContext,
  client: GoogleCalendarClient,
  channels: readonly Pick<ChannelRow, "id" | "channel_id" | "resource_id">[],
  calendarResourceId: string | null = null,
): Promise<void> {
  const stopped: string[] = [];
  for (const channel of channels) {
    const resourceId = channel.resource_id ?? calendarResourceId;
    try {
      if (resourceId) await client.stopChannel(channel.channel_id, resourceId);
      stopped.push(channel.id);
    } catch (error) {
      // It expires on its own; the receiver ignores 'stopping' channels meanwhile.
      console.error(`[channels] could not stop ${channel.channel_id}:`, describeError(error));
    }
  }
  if (stopped.length > 0) {
    await rpc(context.db, "channel_set_status", { p_ids: stopped, p_status: "stopped" });
  }
}

/** Opens a channel under a held maintenance claim and makes it the calendar's active one. */
async function openChannel(
  context: ChannelContext,
  client: GoogleCalendarClient,
  target: SyncTarget,
  claim: string,
): Promise<ChannelRow> {
  const channelId = crypto.randomUUID();
  const token = randomToken(32);
  // Recorded before the watch call: Google may deliver the `sync` message before answering, and
  // a crash after the call still leaves a row the receiver and maintenance can find.
  const rowId = await rpc<string>(context.db, "channel_record_pending", {
    p_connection_id: target.connectionId,
    p_calendar_id: target.calendarId,
    p_maintenance_claim: claim,
    p_channel_id: channelId,
    p_token_hash: await sha256Hex(token),
  });
  let watch;
  try {
    watch = await client.watchEvents(target.calendarId, {
      id: channelId,
      address: googleWebhookUrl(context.config),
      token,
      ttlSeconds: context.config.GOOGLE_CHANNEL_TTL_SECONDS,
    });
  } catch (error) {
    await rpc(context.db, "channel_set_status", {
      p_ids: [rowId],
      p_status: "failed",
      p_error: describeError(error).slice(0, 500),
    });
    throw error;
  }
  const expiration = new Date(watch.expiration).toISOString();
  let replaced: { id: string; channel_id: string; resource_id: string | null }[];
  try {
    // Only while the claim still holds: a takeover after our lease ran out may have stopped
    // this channel already (the catch below then stops it, as for any failed activation).
    replaced = await rpc(context.db, "channel_activate", {
      p_maintenance_claim: claim,
      p_channel_row_id: rowId,
      p_resource_id: watch.resourceId,
      p_resource_uri: watch.resourceUri,
      p_expiration: expiration,
    });
  } catch (error) {
    // The channel is live at Google but could not be recorded as such: stop it there now.
    await client.stopChannel(channelId, watch.resourceId).catch(() => {});
    await rpc(context.db, "channel_set_status", {
      p_ids: [rowId],
      p_status: "stopped",
      p_error: describeError(error).slice(0, 500),
    }).catch(() => {});
    throw error;
  }
  await stopChannels(context, client, replaced, watch.resourceId);
  return {
    id: rowId,
    channel_id: channelId,
    resource_id: watch.resourceId,
    expiration,
    status: "active",
  };
}

export interface EnsureChannelResult {
  channel: ChannelRow;
  opened: boolean;
}

/**
 * Makes sure the calendar has one live channel that is not due for renewal: reuses it when it
 * has (unless `force`), otherwise opens a new one and stops the ones it replaces. Takes the
 * calendar's maintenance claim, waiting briefly if another caller holds it (a concurrent setup
 * then finds the channel the other one opened). `heldClaim`: the caller already holds it.
 */
export async function ensureChannel(
  context: ChannelContext,
  client: GoogleCalendarClient,
  target: SyncTarget,
  options: { force?: boolean; heldClaim?: { claim: string; now: number; channels: ChannelRow[] } } =
    {},
): Promise<EnsureChannelResult> {
  const open = async (held: { claim: string; now: number; channels: ChannelRow[] }) => {
    const current = healthyChannel(held.channels, held.now);
    if (current && !options.force) return { channel: current, opened: false };
    return { channel: await openChannel(context, client, target, held.claim), opened: true };
  };
  if (options.heldClaim) return await open(options.heldClaim);
  return await withMaintenanceClaim(
    context,
    target,
    (held) => open({ ...held, channels: held.channels as ChannelRow[] }),
  );
}
