// Keeps watched calendars alive: renews push channels before they expire and runs backup syncs.
//   - pg_cron (x-cron-secret) with {batch: [...]}: calendars maintenance_dispatch already chose
//     and claimed; answered 202 at once, worked in the background. Without a batch, pg_cron's
//     call dispatches the due calendars itself.
//   - the signed-in user (their JWT), e.g. a "Refresh now" button: their calendars, renewed if
//     due (or `force`, at most once a minute) and synced now.
//   - a server (service role) with a user_id and/or a connection_id: the same for those.
// verify_jwt = false: it authenticates each kind of caller itself. A browser calls it, so it
// answers CORS preflights.
import { z } from "zod";
import { handle, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { actingUserId, authenticateCaller } from "../_shared/auth/caller.ts";
import { limitUserAction } from "../_shared/auth/rate_limit.ts";
import { rpc } from "../_shared/db/client.ts";
import { services } from "../_shared/services.ts";
import { maintainCalendars, scopedCalendars } from "../_shared/sync/maintenance.ts";

const BatchItem = z.object({
  connection_id: z.uuid(),
  calendar_id: z.string().min(1),
  claim: z.uuid(),
  reasons: z.array(z.string()).default([]),
  provider: z.string().optional(),
});

const RefreshRequest = z.strictObject({
  connection_id: z.uuid().optional(),
  user_id: z.uuid().optional(),
  force: z.boolean().default(false),
  trigger: z.enum(["cron", "manual"]).optional(),
  batch: z.array(BatchItem).max(500).optional(),
});

/** A forced refresh opens and stops channels on the project's shared quota. */
const FORCED_REFRESH_INTERVAL_SECONDS = 60;

Deno.serve(handle("refresh-calendar-webhook", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["cron", "service", "user"]);
  const body = await parseJsonBody(request, RefreshRequest);

  if (caller.kind === "cron" || (caller.kind === "service" && body.batch)) {
    const batch = body.batch;
    if (batch) {
      runInBackground("refresh-calendar-webhook", () => maintainCalendars(s, batch));
      return json({ status: "accepted", calendars: batch.length }, 202);
    }
    const batches = await rpc<number>(s.db, "maintenance_dispatch");
    return json({ status: "dispatched", batches }, 202);
  }

  // A server may name a connection alone; a user acts only on their own calendars.
  const userId = caller.kind === "service" && body.user_id === undefined && body.connection_id
    ? undefined
    : actingUserId(caller, body.user_id, "refresh calendars");
  if (caller.kind === "user" && body.force) {
    await limitUserAction(s.db, caller.userId, "forced_refresh", FORCED_REFRESH_INTERVAL_SECONDS);
  }
  const calendars = await scopedCalendars(s, { userId, connectionId: body.connection_id });
  const report = await maintainCalendars(s, calendars, {
    forceRenewal: body.force,
    syncNow: caller.kind === "user" || body.trigger === "manual",
  });
  return json(report);
}, { cors: true }));
