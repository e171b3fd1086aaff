// Runs the sync of one watched calendar with everything wired: the connection's credentials,
// the PostgREST store, and a recalculation request when busy time changed. Used by the webhook
// receiver (in EdgeRuntime.waitUntil), setup and the backup sync.
import type { SupabaseClient } from "@supabase/supabase-js";
import type { FunctionEnv } from "../env.ts";
import type { GoogleCalendarClient } from "../google/mod.ts";
import {
  createConnectionClient,
  type GoogleConnectionRow,
  loadGoogleConnection,
} from "./google_connection.ts";
import { PostgrestGoogleSyncStore, type SyncTarget } from "./google_store.ts";
import { type GoogleSyncSummary, syncGoogleCalendar } from "./google_sync.ts";
import { requestRecalculation } from "./recalculation.ts";

export interface GoogleSyncRun extends GoogleSyncSummary {
  skipped?: "connection_missing" | "connection_inactive";
  apiRequests: number;
}

const NOTHING_RAN: GoogleSyncRun = {
  runs: 0,
  fullSync: false,
  pages: 0,
  upserted: 0,
  deleted: 0,
  busyChanged: false,
  apiRequests: 0,
};

export async function runGoogleSync(
  env: FunctionEnv,
  db: SupabaseClient,
  target: SyncTarget,
  now: () => number = Date.now,
): Promise<GoogleSyncRun> {
  const connection = await loadGoogleConnection(db, target.connectionId);
  if (!connection) return { ...NOTHING_RAN, skipped: "connection_missing" };
  // A paused or broken connection keeps its "needs sync" mark for when it is active again.
  if (connection.status !== "active" || !connection.sync_enabled) {
    return { ...NOTHING_RAN, skipped: "connection_inactive" };
  }
  const client = await createConnectionClient(env, db, connection, now);
  return await syncWithClient(env, db, connection, client, target, now);
}

/** The sync itself, for callers that already hold the connection's client (maintenance). */
export async function syncWithClient(
  env: FunctionEnv,
  db: SupabaseClient,
  connection: GoogleConnectionRow,
  client: GoogleCalendarClient,
  target: SyncTarget,
  now: () => number = Date.now,
): Promise<GoogleSyncRun> {
  const started = performance.now();
  const requestsBefore = client.counters.requests;
  try {
    const summary = await syncGoogleCalendar({
      store: new PostgrestGoogleSyncStore(db),
      lister: client,
      now,
      pastDays: env.GOOGLE_SYNC_PAST_DAYS,
    }, target);
    const apiRequests = client.counters.requests - requestsBefore;
    if (summary.runs > 0) {
      console.log(
        `[google-sync] ${summary.fullSync ? "FULL" : "INCREMENTAL"} sync complete: ` +
          `connection=${target.connectionId} calendar=${target.calendarId} runs=${summary.runs} ` +
          `pages=${summary.pages} upserted=${summary.upserted} deleted=${summary.deleted} ` +
          `busy_changed=${summary.busyChanged} api_requests=${apiRequests} ` +
          `ms=${Math.round(performance.now() - started)}`,
      );
    }
    if (summary.busyChanged) {
      await requestRecalculation(env, connection.user_id, "calendar_change");
    }
    return { ...summary, apiRequests };
  } catch (error) {
    console.error(
      `[google-sync] failed: connection=${target.connectionId} calendar=${target.calendarId}:`,
      error instanceof Error ? error.message : error,
    );
    throw error;
  }
}
