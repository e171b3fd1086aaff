// Runs the sync of one watched calendar with everything wired: the connection's credentials,
// the PostgREST store, and a recalculation request when busy time changed. Used by the webhook
// receiver (in EdgeRuntime.waitUntil), setup and the backup sync.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { FunctionEnv } from "../env.ts";
import { createConnectionClient, loadGoogleConnection } from "./google_connection.ts";
import { PostgrestGoogleSyncStore, type SyncTarget } from "./google_store.ts";
import { type GoogleSyncSummary, syncGoogleCalendar } from "./google_sync.ts";
import { requestRecalculation } from "./recalculation.ts";

export interface GoogleSyncRun extends GoogleSyncSummary {
  skipped?: "connection_missing" | "connection_inactive";
  apiRequests: number;
}

export async function runGoogleSync(
  env: FunctionEnv,
  db: SupabaseClient,
  target: SyncTarget,
  now: () => number = Date.now,
): Promise<GoogleSyncRun> {
  const empty = { runs: 0, fullSync: false, pages: 0, upserted: 0, deleted: 0, busyChanged: false };
  const connection = await loadGoogleConnection(db, target.connectionId);
  if (!connection) return { ...empty, skipped: "connection_missing", apiRequests: 0 };
  // A paused or broken connection keeps its "needs sync" mark for when it is active again.
  if (connection.status !== "active" || !connection.sync_enabled) {
    return { ...empty, skipped: "connection_inactive", apiRequests: 0 };
  }
  const client = await createConnectionClient(env, db, connection, now);
  const started = performance.now();
  try {
    const summary = await syncGoogleCalendar({
      store: new PostgrestGoogleSyncStore(db),
      lister: client,
      now,
      pastDays: env.GOOGLE_SYNC_PAST_DAYS,
    }, target);
    if (summary.runs > 0) {
      console.log(
        `[google-sync] ${summary.fullSync ? "FULL" : "INCREMENTAL"} sync complete: ` +
          `connection=${target.connectionId} calendar=${target.calendarId} runs=${summary.runs} ` +
          `pages=${summary.pages} upserted=${summary.upserted} deleted=${summary.deleted} ` +
          `busy_changed=${summary.busyChanged} api_requests=${client.counters.requests} ` +
          `ms=${Math.round(performance.now() - started)}`,
      );
    }
    if (summary.busyChanged) {
      await requestRecalculation(env, connection.user_id, "calendar_change");
    }
    return { ...summary, apiRequests: client.counters.requests };
  } catch (error) {
    console.error(
      `[google-sync] failed: connection=${target.connectionId} calendar=${target.calendarId}:`,
      error instanceof Error ? error.message : error,
    );
    throw error;
  }
}
