// Receiving a Google push notification. Google sends headers only; the receiver hashes the
// presented channel token and makes ONE database call (google_receive_notifications) that looks
// the channel up, checks the token's hash and the resource id, and durably marks the calendar
// as needing a sync. Notifications an instance receives while that call is under way share the
// next one (a burst costs one round trip per batch, not per notification; db/batched_call.ts).
// The call goes over the direct connection (db/direct_sql.ts: one database round trip instead
// of a Data API transaction's four) and through the Data API for a while after that failed
// (db/fallback.ts); running it twice is harmless (a mark is a mark).
// The sync itself is left to background work, so Google gets its 2xx in milliseconds. Unknown,
// replaced or stopped channels get a 2xx too (Google keeps sending for a while after
// channels.stop) and change nothing; a forged token or a wrong resource is a 401 that changes
// nothing; malformed headers are a 400.
import { z } from "zod";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../../clock.ts";
import { batchedCall } from "../../db/batched_call.ts";
import { rpc } from "../../db/client.ts";
import { answeredWithin, type DirectSql } from "../../db/direct_sql.ts";
import { withFallback } from "../../db/fallback.ts";
import { describeError } from "../../net/provider_error.ts";
import { HttpError } from "../../http/errors.ts";
import { sha256Hex } from "../../security/crypto.ts";
import type { SyncTarget } from "../../sync/types.ts";

export const NotificationHeaders = z.object({
  channelId: z.string().min(1).max(64),
  resourceId: z.string().min(1),
  resourceState: z.enum(["sync", "exists", "not_exists"]),
  // Google's message numbers are positive integers; an empty or non-numeric header is malformed
  // (z.coerce would read "" as 0).
  messageNumber: z.string().regex(/^\d{1,18}$/).transform(Number),
  channelToken: z.string().max(256).nullable(),
});
export type NotificationHeaders = z.infer<typeof NotificationHeaders>;

export function parseNotificationHeaders(headers: Headers): NotificationHeaders {
  const parsed = NotificationHeaders.safeParse({
    channelId: headers.get("x-goog-channel-id") ?? undefined,
    resourceId: headers.get("x-goog-resource-id") ?? undefined,
    resourceState: headers.get("x-goog-resource-state") ?? undefined,
    messageNumber: headers.get("x-goog-message-number")?.trim() ?? undefined,
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
  | {
    kind: "marked";
    target: SyncTarget;
    /**
     * Whether a sync already serves the mark: one that holds the calendar (it runs the follow-up
     * itself), or the one another notification of the same batch starts.
     */
    syncRunning: boolean;
    /** While a run holds the calendar: how long its lease still holds (ms). */
    leaseRemainingMs: number | null;
  }
  | { kind: "acknowledged" }
  | { kind: "ignored"; reason: "unknown_channel" | "inactive_channel" };

/** What google_receive_notifications answers for one notification, at its position. */
interface Received {
  outcome:
    | "unknown_channel"
    | "forged"
    | "resource_mismatch"
    | "inactive"
    | "acknowledged"
    | "marked";
  connection_id?: string;
  calendar_id?: string;
  sync_running?: boolean;
  lease_remaining_ms?: number | null;
}

type ReceivedItem = {
  channel_id: string;
  token_sha256: string;
  resource_id: string;
  resource_state: NotificationHeaders["resourceState"];
  message_number: number;
};

/** What the receiver needs from the instance (services.ts). */
export interface ReceiverDeps {
  /** The Data API client. */
  db: SupabaseClient;
  /** The direct connection, or null when the instance has none. */
  directSql(): DirectSql | null;
  clock: Clock;
}

// One round trip under way at a time: a notification waits for at most the batch ahead of its
// own, and a burst fills the next batch meanwhile (measured: fewer, larger batches beat two in
// flight on PostgREST's CPU, and the direct connection is a single one).
const RECEIVE_BATCH = { maxBatch: 200, maxInFlight: 1 };
// After the direct connection failed, notifications go through the Data API this long before
// it is tried again: the Data API serves them fully (about a millisecond slower each), while a
// database out of connections must not be asked once per notification, an unreachable address
// costs the notification that finds out up to the connect timeout (3 s), and a setup that
// cannot work (a transaction pooler, a role without the grant) fails the same way each time.
const DIRECT_PAUSE_MS = 5 * 60_000;
// A batch the direct connection has not answered this soon goes through the Data API (the
// call takes milliseconds; Google waits for the acknowledgement).
const DIRECT_ANSWER_MS = 5_000;

/** One call for a batch of notifications, each answered at its position. */
function receiveCall(deps: ReceiverDeps): (items: ReceivedItem[]) => Promise<Received[]> {
  const call = databaseCall(deps);
  return async (items) => oneSyncStartPerCalendar(await call(items));
}

/**
 * A batch's notifications for a calendar no sync holds all come back "marked, no sync running".
 * Only the first starts the sync; the others are served by it as by a running one (its claim
 * comes after the batch's marks). Without this, each would start a sync whose claim all but one
 * lose: a wasted round trip per notification in a burst.
 */
function oneSyncStartPerCalendar(answers: Received[]): Received[] {
  const starting = new Set<string>();
  return answers.map((answer) => {
    if (answer.outcome !== "marked" || answer.sync_running) return answer;
    const calendar = `${answer.connection_id}\u0000${answer.calendar_id}`;
    if (!starting.has(calendar)) {
      starting.add(calendar);
      return answer;
    }
    return { ...answer, sync_running: true, lease_remaining_ms: null };
  });
}

function databaseCall(deps: ReceiverDeps): (items: ReceivedItem[]) => Promise<Received[]> {
  const viaDataApi = (items: ReceivedItem[]) =>
    rpc<Received[]>(deps.db, "google_receive_notifications", { p_notifications: items });
  const sql = deps.directSql();
  if (!sql) return viaDataApi;
  const direct = async (items: ReceivedItem[]) => {
    const [row] = await answeredWithin(
      sql`select public.google_receive_notifications(${sql.json(items)}) as answers`,
      DIRECT_ANSWER_MS,
    );
    return row.answers as Received[];
  };
  return withFallback(direct, viaDataApi, {
    pauseMs: DIRECT_PAUSE_MS,
    clock: deps.clock,
    onPreferredFailed: (error) =>
      console.warn(
        `[google-calendar-webhook] the direct database connection failed ` +
          `(${describeError(error)}); notifications go through the Data API for the next ` +
          `${DIRECT_PAUSE_MS / 1000} s`,
      ),
  });
}

// One batcher per instance (its services are created once).
const receivers = new WeakMap<ReceiverDeps, (item: ReceivedItem) => Promise<Received>>();

function receiverFor(deps: ReceiverDeps) {
  let receive = receivers.get(deps);
  if (!receive) {
    receive = batchedCall<ReceivedItem, Received>(receiveCall(deps), RECEIVE_BATCH);
    receivers.set(deps, receive);
  }
  return receive;
}

export async function receiveNotification(
  deps: ReceiverDeps,
  notification: NotificationHeaders,
): Promise<NotificationOutcome> {
  const received = await receiverFor(deps)({
    channel_id: notification.channelId,
    token_sha256: await sha256Hex(notification.channelToken ?? ""),
    resource_id: notification.resourceId,
    resource_state: notification.resourceState,
    message_number: notification.messageNumber,
  });
  switch (received.outcome) {
    case "forged":
      throw new HttpError(401, "invalid_channel_token", "The channel token does not match.");
    case "resource_mismatch":
      throw new HttpError(401, "resource_mismatch", "The resource id does not match the channel.");
    case "unknown_channel":
      return { kind: "ignored", reason: "unknown_channel" };
    case "inactive":
      return { kind: "ignored", reason: "inactive_channel" };
    case "acknowledged":
      return { kind: "acknowledged" };
    default:
      return {
        kind: "marked",
        target: { connectionId: received.connection_id!, calendarId: received.calendar_id! },
        syncRunning: received.sync_running ?? false,
        leaseRemainingMs: received.lease_remaining_ms ?? null,
      };
  }
}
