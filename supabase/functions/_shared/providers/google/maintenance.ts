// Keeping watched calendars alive (refresh-calendar-webhook): renew channels before they expire
// (refreshing OAuth tokens on the way), and a backup sync for calendars that have been quiet too
// long or whose last sync failed, because Google drops a small share of notifications by design.
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import type { FunctionEnv } from "../env.ts";
import { ReauthRequiredError } from "../google/mod.ts";
import { createConnectionClient, loadGoogleConnection } from "./google_connection.ts";
import { ensureChannel, RENEW_BEFORE_MS } from "./google_channels.ts";
import { syncWithClient } from "./google_runner.ts";
import { PostgrestGoogleSyncStore } from "./google_store.ts";

/** A calendar with no successful sync for this long gets a backup sync. */
export const BACKUP_SYNC_AFTER_MS = 6 * 3600_000;

export interface MaintenanceScope {
  userId?: string;
  connectionId?: string;
  /** Renew even channels that are not close to expiry (manual refresh). */
  forceRenewal?: boolean;
  /** Also sync every calendar in scope now (manual refresh). */
  syncAll?: boolean;
}

export interface MaintenanceReport {
  calendars: number;
  renewed: number;
  kept: number;
  synced: number;
  needs_reauth: number;
  failed: { connection_id: string; calendar_id: string; error: string }[];
}

interface WatchedCalendarRow {
  connection_id: string;
  calendar_id: string;
  user_id: string;
  needs_sync: boolean;
  last_synced_at: string | null;
  calendar_connections: { status: string; sync_enabled: boolean; provider: string };
}

export async function maintainGoogleCalendars(
  env: FunctionEnv,
  db: SupabaseClient,
  scope: MaintenanceScope,
  now: () => number = Date.now,
): Promise<MaintenanceReport> {
  let query = db.from("calendar_sync_tokens")
    .select(
      "connection_id,calendar_id,user_id,needs_sync,last_synced_at," +
        "calendar_connections!inner(status,sync_enabled,provider)",
    )
    .eq("calendar_connections.status", "active")
    .eq("calendar_connections.sync_enabled", true)
    .eq("calendar_connections.provider", "google");
  if (scope.userId) query = query.eq("user_id", scope.userId);
  if (scope.connectionId) query = query.eq("connection_id", scope.connectionId);
  const calendars = unwrap(await query) as unknown as WatchedCalendarRow[];

  const report: MaintenanceReport = {
    calendars: calendars.length,
    renewed: 0,
    kept: 0,
    synced: 0,
    needs_reauth: 0,
    failed: [],
  };
  const store = new PostgrestGoogleSyncStore(db);
  for (const calendar of calendars) {
    const target = {
      connectionId: calendar.connection_id,
      calendarId: calendar.calendar_id,
      userId: calendar.user_id,
    };
    try {
      const connection = await loadGoogleConnection(db, calendar.connection_id);
      if (!connection) continue;
      const client = await createConnectionClient(env, db, connection, now);
      const { opened } = await ensureChannel(env, db, client, target, {
        now: now(),
        force: scope.forceRenewal,
      });
      if (opened) report.renewed++;
      else report.kept++;

      const quiet = !calendar.last_synced_at ||
        Date.parse(calendar.last_synced_at) < now() - BACKUP_SYNC_AFTER_MS;
      if (scope.syncAll || quiet || calendar.needs_sync) {
        if (!calendar.needs_sync) {
          unwrap(
            await db.from("calendar_sync_tokens").update({ needs_sync: true })
              .eq("connection_id", target.connectionId).eq("calendar_id", target.calendarId),
          );
        }
        const run = await syncWithClient(env, db, connection, client, target, now);
        if (run.runs > 0) report.synced++;
      }
    } catch (error) {
      if (error instanceof ReauthRequiredError) {
        report.needs_reauth++;
        await store.markNeedsReauth(calendar.connection_id, error.message);
        continue;
      }
      report.failed.push({
        connection_id: calendar.connection_id,
        calendar_id: calendar.calendar_id,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
  console.log(
    `[refresh-calendar-webhook] calendars=${report.calendars} renewed=${report.renewed} ` +
      `kept=${report.kept} synced=${report.synced} needs_reauth=${report.needs_reauth} ` +
      `failed=${report.failed.length} (renewal window ${RENEW_BEFORE_MS / 3600_000} h)`,
  );
  return report;
}
