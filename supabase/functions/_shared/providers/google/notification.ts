// Receiving a Google push notification. Google sends headers only; the receiver authenticates
// the channel (per-channel secret, constant-time compare of its hash; resource id), durably
// marks the calendar as needing sync, and leaves the sync to background work, so Google gets its
// 2xx in milliseconds. Unknown or stopped channels get a 2xx too (Google keeps sending for a
// while after channels.stop), and change nothing.
import { z } from "zod";
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import { HttpError } from "../http/responses.ts";
import { constantTimeEqual, sha256Hex } from "../security/crypto.ts";
import type { SyncTarget } from "./google_store.ts";

export const NotificationHeaders = z.object({
  channelId: z.string().min(1).max(64),
  resourceId: z.string().min(1),
  resourceState: z.enum(["sync", "exists", "not_exists"]),
  messageNumber: z.coerce.number().int().nonnegative(),
  channelToken: z.string().max(256).nullable(),
});
export type NotificationHeaders = z.infer<typeof NotificationHeaders>;

export function parseNotificationHeaders(headers: Headers): NotificationHeaders {
  const parsed = NotificationHeaders.safeParse({
    channelId: headers.get("x-goog-channel-id") ?? undefined,
    resourceId: headers.get("x-goog-resource-id") ?? undefined,
    resourceState: headers.get("x-goog-resource-state") ?? undefined,
    messageNumber: headers.get("x-goog-message-number") ?? undefined,
    channelToken: headers.get("x-goog-channel-token"),
  });
  if (!parsed.success) {
    throw new HttpError(
      400,
      "invalid_notification",
      "Not a Google Calendar push notification: X-Goog-* headers are missing or malformed.",
      parsed.error.issues.map((issue) => issue.path.join(".")),
    );
  }
  return parsed.data;
}

export type NotificationOutcome =
  | { kind: "ignored"; reason: "unknown_channel" | "inactive_channel" }
  | { kind: "acknowledged" }
  | { kind: "marked"; target: SyncTarget; syncRunning: boolean };

interface ChannelRecord {
  id: string;
  resource_id: string | null;
  token_hash: string;
  status: string;
}

export async function acceptNotification(
  db: SupabaseClient,
  notification: NotificationHeaders,
): Promise<NotificationOutcome> {
  const channel = unwrap(
    await db.from("calendar_webhook_channels").select("id,resource_id,token_hash,status")
      .eq("channel_id", notification.channelId).maybeSingle(),
  ) as ChannelRecord | null;
  if (!channel) return { kind: "ignored", reason: "unknown_channel" };

  const presented = await sha256Hex(notification.channelToken ?? "");
  if (!constantTimeEqual(presented, channel.token_hash)) {
    throw new HttpError(401, "invalid_channel_token", "The channel token does not match.");
  }
  // Before the watch response is stored the resource id is unknown; the token already matched.
  if (channel.resource_id !== null && channel.resource_id !== notification.resourceId) {
    throw new HttpError(401, "resource_mismatch", "The resource id does not match the channel.");
  }
  if (channel.status !== "active" && channel.status !== "pending") {
    return { kind: "ignored", reason: "inactive_channel" };
  }
  if (notification.resourceState === "sync") return { kind: "acknowledged" };

  const marked = unwrap(
    await db.rpc("google_mark_needs_sync", {
      p_channel_row_id: channel.id,
      p_message_number: notification.messageNumber,
    }),
  ) as { marked: boolean; sync_running?: boolean; connection_id?: string; calendar_id?: string };
  if (!marked.marked) return { kind: "ignored", reason: "unknown_channel" };
  return {
    kind: "marked",
    target: { connectionId: marked.connection_id!, calendarId: marked.calendar_id! },
    syncRunning: marked.sync_running ?? false,
  };
}
