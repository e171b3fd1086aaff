// The composition root: the one place the bundle's parts are wired together for a function
// instance (configuration, the service database client and the direct connection, the clock,
// the stores, the provider adapters, and the sync runner that re-plans a user in-process when
// busy time changed).
// Handlers call `services()` and hand its parts to jobs; jobs never build their own.
import type { SupabaseClient } from "@supabase/supabase-js";
import { type Clock, systemClock } from "./clock.ts";
import { type Config, loadConfig } from "./config.ts";
import { createServiceClient } from "./db/client.ts";
import { createDirectSql, type DirectSql } from "./db/direct_sql.ts";
import { describeError } from "./net/provider_error.ts";
import { type RecalcDeps, recalculateUser } from "./planning/recalculate.ts";
import type { ScheduleStore } from "./planning/store.ts";
import { createPostgrestScheduleStore } from "./planning/store_postgrest.ts";
import { providerAdapter } from "./providers/registry.ts";
import { syncCalendar, type SyncSummary } from "./sync/runner.ts";
import { createPostgrestSyncStore, type SyncStore } from "./sync/store.ts";
import { createPostgrestOutboundStore } from "./outbound/store.ts";
import { type ProcessorReport, processOutbound } from "./outbound/processor.ts";
import { applyRelease } from "./outbound/release.ts";
import type { OutboundItem, OutboundWriter } from "./outbound/types.ts";
import type { SyncClaim, SyncTarget } from "./sync/types.ts";

export interface Services {
  config: Config;
  db: SupabaseClient;
  clock: Clock;
  syncStore: SyncStore;
  scheduleStore: ScheduleStore;
  /**
   * The direct database connection, opened on first use (only the Google receiver uses it); null
   * when SUPABASE_DB_URL is unset or GOOGLE_RECEIVER_DIRECT_DB is false.
   */
  directSql(): DirectSql | null;
}

let instance: Services | undefined;

export function services(): Services {
  if (!instance) {
    const config = loadConfig();
    const db = createServiceClient(config);
    let direct: DirectSql | undefined;
    instance = {
      config,
      db,
      clock: systemClock,
      syncStore: createPostgrestSyncStore(db),
      scheduleStore: createPostgrestScheduleStore(db),
      directSql: () => {
        if (!config.SUPABASE_DB_URL || !config.GOOGLE_RECEIVER_DIRECT_DB) return null;
        return direct ??= createDirectSql(config.SUPABASE_DB_URL);
      },
    };
  }
  return instance;
}

export function planningDeps(s: Services): RecalcDeps {
  return { store: s.scheduleStore, clock: s.clock };
}

/**
 * Re-plans a user whose busy time just changed. The sync already marked the user in the
 * transaction that changed busy time; this serves the mark at once. A failure is logged, not
 * thrown: the mark stays, and the sweep (pg_cron, every minute) serves it.
 */
export async function planAfterBusyChange(s: Services, userId: string): Promise<void> {
  try {
    await recalculateUser(planningDeps(s), userId, {
      trigger: "calendar_change",
      alreadyMarked: true,
    });
  } catch (error) {
    console.error(
      `[planning] user=${userId} re-plan failed (the sweep retries):`,
      describeError(error),
    );
  }
}

/** Syncs one watched calendar with its provider's adapter, then re-plans if busy time changed. */
export function syncTarget(
  s: Services,
  target: SyncTarget,
  initialClaim?: SyncClaim,
): Promise<SyncSummary> {
  return syncCalendar(
    {
      store: s.syncStore,
      strategy: (claim, calendar) =>
        providerAdapter(claim.connection.provider).changeStrategy(s, claim.connection, calendar),
      clock: s.clock,
      leaseSeconds: s.config.SYNC_LEASE_SECONDS,
      onBusyChanged: (userId) => planAfterBusyChange(s, userId),
      log: (line) => console.log(line),
    },
    target,
    initialClaim,
  );
}

/**
 * The writer for an outbound item's connection: releases (revoke_token) go to the provider's
 * releaseAccess with the item's own credential (the connection may be gone); blocks go to the
 * provider's writer with a client for the connection.
 */
function writerFor(s: Services, first: OutboundItem): OutboundWriter {
  const adapter = providerAdapter(first.provider);
  let blocks: OutboundWriter | undefined;
  return {
    apply(item) {
      if (item.operation === "revoke_token") return applyRelease(s, adapter, item);
      if (!item.connection || !adapter.writer) {
        return Promise.resolve({
          kind: "failed",
          error: item.connection ? `${item.provider} has no writer` : "the connection is gone",
        });
      }
      blocks ??= adapter.writer(
        { ...s, syncTarget: (target) => syncTarget(s, target) },
        item.connection,
      );
      return blocks.apply(item);
    },
  };
}

/** Drains the outbound queue (write-back and provider cleanup) within a time budget. */
export function drainOutbound(s: Services, budgetMs = 60_000): Promise<ProcessorReport> {
  return processOutbound({
    store: createPostgrestOutboundStore(s.db),
    writerFor: (item) => writerFor(s, item),
    clock: s.clock,
    budgetMs,
  });
}
