// Maintenance of watched calendars, for every provider: keep the push path alive (the
// provider's maintainPush: renew Google channels, repair Calendly subscriptions) and run a
// backup sync when one is due or asked for. Work arrives in two shapes:
//   - a batch that pg_cron already selected and claimed (maintenance_take_due → pg_net), each
//     calendar under its held maintenance claim;
//   - a user's manual refresh (or the service role's), which claims each calendar itself.
// Each calendar is released with its outcome (a failure backs off, capped, and shows in
// health); a batch that dies mid-way leaves claims that run out, and the next dispatch takes
// those calendars again. invalid_grant marks the connection as needing re-authorisation.
import { rpc } from "../db/client.ts";
import { describeError, ReauthRequiredError } from "../net/provider_error.ts";
import { providerAdapter } from "../providers/registry.ts";
import { type Services, syncTarget } from "../services.ts";
import { releaseMaintenance } from "./maintenance_claim.ts";
import type { ConnectionRecord, LiveChannel, SyncTarget } from "./types.ts";

export interface MaintenanceItem {
  connection_id: string;
  calendar_id: string;
  /** Held maintenance claim (cron batches); absent: claimed here. */
  claim?: string;
  reasons?: string[];
}

export interface MaintenanceOptions {
  /** Renew even channels that are not due (a user's forced refresh). */
  forceRenewal?: boolean;
  /** Sync every calendar now (a manual refresh). */
  syncNow?: boolean;
  /** Calendars worked on at once. */
  concurrency?: number;
}

export interface MaintenanceReport {
  calendars: number;
  renewed: number;
  kept: number;
  synced: number;
  needs_reauth: number;
  /** Calendars another run holds right now (they are being maintained). */
  busy: number;
  failed: { connection_id: string; calendar_id: string; error: string }[];
}

interface ContextItem {
  connection_id: string;
  calendar_id: string;
  claim: string;
  reasons: string[] | null;
  connection: ConnectionRecord & { status: string };
  channels: LiveChannel[];
}

const SYNC_REASONS = new Set(["backup", "stale_mark", "manual"]);

async function claimItems(s: Services, items: MaintenanceItem[]): Promise<{
  claimed: MaintenanceItem[];
  busy: number;
}> {
  const claimed: MaintenanceItem[] = [];
  let busy = 0;
  for (const item of items) {
    if (item.claim) {
      claimed.push(item);
      continue;
    }
    const taken = await rpc<{ claimed: boolean; claim: string | null }>(
      s.db,
      "maintenance_claim",
      { p_connection_id: item.connection_id, p_calendar_id: item.calendar_id },
    );
    if (taken.claimed && taken.claim) claimed.push({ ...item, claim: taken.claim });
    else busy++;
  }
  return { claimed, busy };
}

async function maintainOne(
  s: Services,
  item: ContextItem,
  now: number,
  options: MaintenanceOptions,
  report: MaintenanceReport,
): Promise<void> {
  const target: SyncTarget = { connectionId: item.connection_id, calendarId: item.calendar_id };
  const reasons = item.reasons ?? [];
  let error: string | null = null;
  try {
    if (item.connection.status !== "active") return;
    const adapter = providerAdapter(item.connection.provider);
    if (adapter.maintainPush) {
      const { renewed } = await adapter.maintainPush(s, {
        connection: item.connection,
        target,
        claim: item.claim,
        now,
        channels: item.channels,
        reasons,
        force: options.forceRenewal ?? false,
      });
      if (renewed) report.renewed++;
      else report.kept++;
    }
    if (options.syncNow || reasons.some((reason) => SYNC_REASONS.has(reason))) {
      await rpc(s.db, "sync_mark", {
        p_connection_id: target.connectionId,
        p_calendar_id: target.calendarId,
      });
      const run = await syncTarget(s, target);
      if (run.runs > 0) report.synced++;
    }
  } catch (failure) {
    error = describeError(failure).slice(0, 500);
    if (failure instanceof ReauthRequiredError) {
      report.needs_reauth++;
      await rpc(s.db, "connection_needs_reauth", {
        p_connection_id: target.connectionId,
        p_reason: error,
      });
    } else {
      report.failed.push({
        connection_id: target.connectionId,
        calendar_id: target.calendarId,
        error,
      });
    }
  } finally {
    await releaseMaintenance(s.db, target, item.claim, error);
  }
}

export async function maintainCalendars(
  s: Services,
  items: MaintenanceItem[],
  options: MaintenanceOptions = {},
): Promise<MaintenanceReport> {
  const report: MaintenanceReport = {
    calendars: items.length,
    renewed: 0,
    kept: 0,
    synced: 0,
    needs_reauth: 0,
    busy: 0,
    failed: [],
  };
  const { claimed, busy } = await claimItems(s, items);
  report.busy = busy;
  if (claimed.length === 0) return report;
  const context = await rpc<{ now: string; items: ContextItem[] }>(s.db, "maintenance_context", {
    p_items: claimed.map((item) => ({
      connection_id: item.connection_id,
      calendar_id: item.calendar_id,
      claim: item.claim,
      reasons: item.reasons ?? (options.syncNow ? ["manual"] : []),
    })),
  });
  const now = Date.parse(context.now);
  let next = 0;
  const worker = async () => {
    while (next < context.items.length) {
      await maintainOne(s, context.items[next++], now, options, report);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, context.items.length));
  await Promise.all(Array.from({ length: concurrency }, worker));
  console.log(
    `[refresh-calendar-webhook] calendars=${report.calendars} renewed=${report.renewed} ` +
      `kept=${report.kept} synced=${report.synced} needs_reauth=${report.needs_reauth} ` +
      `busy=${report.busy} failed=${report.failed.length}`,
  );
  return report;
}

/** The calendars of a user and/or a connection, bounded, for a manual or scoped refresh. */
export async function scopedCalendars(
  s: Services,
  scope: { userId?: string; connectionId?: string },
): Promise<MaintenanceItem[]> {
  const targets = await rpc<{ connection_id: string; calendar_id: string }[]>(
    s.db,
    "maintenance_targets",
    { p_user_id: scope.userId ?? null, p_connection_id: scope.connectionId ?? null },
  );
  return targets.map((t) => ({ connection_id: t.connection_id, calendar_id: t.calendar_id }));
}
