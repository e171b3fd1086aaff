// Receives Google Calendar push notifications (header-only POSTs from Google's push service).
// Answers within milliseconds: the calendar is marked as needing sync in the database, and the
// sync itself runs in the background. verify_jwt = false: Google sends no Supabase JWT; the
// per-channel secret token authenticates each message.
import { functionEnv } from "../_shared/env.ts";
import { handle, json, requireMethod } from "../_shared/http/responses.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { createServiceClient } from "../_shared/db/clients.ts";
import {
  acceptNotification,
  parseNotificationHeaders,
} from "../_shared/calendar_sync/google_notification.ts";
import { runGoogleSync } from "../_shared/calendar_sync/google_runner.ts";

Deno.serve(handle("google-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const notification = parseNotificationHeaders(request.headers);
  const env = functionEnv();
  const db = createServiceClient(env);
  const outcome = await acceptNotification(db, notification);
  // A running sync will see the mark and run exactly one follow-up itself.
  if (outcome.kind === "marked" && !outcome.syncRunning) {
    runInBackground("google-sync", () => runGoogleSync(env, db, outcome.target));
  }
  return json({ status: outcome.kind, ...("reason" in outcome ? { reason: outcome.reason } : {}) });
}));
