// Renews Google push channels before they expire and runs backup syncs. Called hourly by
// pg_cron (x-cron-secret; answers 202 at once and works in the background), by a server with the
// service role key, or by the app's "refresh" button with the user's JWT (their calendars only,
// renewed and synced now). verify_jwt = false: it authenticates each kind of caller itself.
import { z } from "zod";
import { functionEnv } from "../_shared/env.ts";
import {
  handle,
  HttpError,
  json,
  parseJsonBody,
  requireMethod,
} from "../_shared/http/responses.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { authenticateCaller } from "../_shared/security/caller.ts";
import { createServiceClient } from "../_shared/db/clients.ts";
import { maintainGoogleCalendars } from "../_shared/calendar_sync/google_maintenance.ts";

const RefreshRequest = z.strictObject({
  connection_id: z.uuid().optional(),
  user_id: z.uuid().optional(),
  force: z.boolean().default(false),
  trigger: z.enum(["cron", "manual"]).optional(),
});

Deno.serve(handle("refresh-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const env = functionEnv();
  const caller = await authenticateCaller(request, env, ["cron", "service", "user"]);
  const body = await parseJsonBody(request, RefreshRequest);
  const db = createServiceClient(env);

  if (caller.kind === "cron") {
    runInBackground("refresh-calendar-webhook", () => maintainGoogleCalendars(env, db, {}));
    return json({ status: "accepted" }, 202);
  }
  if (caller.kind === "user") {
    if (body.user_id && body.user_id !== caller.userId) {
      throw new HttpError(403, "forbidden", "A user can refresh only their own calendars.");
    }
    const report = await maintainGoogleCalendars(env, db, {
      userId: caller.userId,
      connectionId: body.connection_id,
      forceRenewal: body.force,
      syncAll: true,
    });
    return json(report);
  }
  const report = await maintainGoogleCalendars(env, db, {
    userId: body.user_id,
    connectionId: body.connection_id,
    forceRenewal: body.force,
    syncAll: body.trigger === "manual",
  });
  return json(report);
}));
