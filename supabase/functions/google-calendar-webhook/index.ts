// Receives Google Calendar push notifications (header-only POSTs from Google's push service).
// Answers within milliseconds: one database call (over the direct connection when the instance
// has one) checks the channel and durably marks the calendar as needing sync, and the sync
// itself runs in the background. verify_jwt = false:
// Google sends no Supabase JWT; the per-channel secret token authenticates each message.
import { handle, json, requireMethod } from "../_shared/http/handler.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { services, syncTarget } from "../_shared/services.ts";
import { takeOverWhenLeaseEnds } from "../_shared/sync/takeover.ts";
import {
  parseNotificationHeaders,
  receiveNotification,
} from "../_shared/providers/google/notification.ts";

Deno.serve(handle("google-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const notification = parseNotificationHeaders(request.headers);
  const s = services();
  const outcome = await receiveNotification(s, notification);
  // A running sync sees the mark when it stores its last page and runs the follow-up itself;
  // if it died, the calendar is taken over when its lease ends.
  if (outcome.kind === "marked" && !outcome.syncRunning) {
    runInBackground("google-sync", () => syncTarget(s, outcome.target));
  } else if (outcome.kind === "marked" && outcome.leaseRemainingMs !== null) {
    takeOverWhenLeaseEnds(outcome.target, outcome.leaseRemainingMs, (t) => syncTarget(s, t));
  }
  return json({ status: outcome.kind, ...("reason" in outcome ? { reason: outcome.reason } : {}) });
}));
