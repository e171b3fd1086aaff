// The calendar's maintenance claim, for work that must not run twice at once on one calendar
// (opening a push channel or a webhook subscription): setups, manual refreshes and cron
// batches all take it. `withMaintenanceClaim` waits briefly when another caller holds it (a
// concurrent setup then finds what the other one opened), runs the work with the claim and the
// database's clock, and releases it with the outcome.
import type { SupabaseClient } from "@supabase/supabase-js";
import { realSleep, type Sleep } from "../clock.ts";
import { rpc } from "../db/client.ts";
import { describeError } from "../net/provider_error.ts";
import type { LiveChannel, SyncTarget } from "./types.ts";

export interface HeldMaintenance {
  claim: string;
  /** The database's clock (epoch ms). */
  now: number;
  channels: LiveChannel[];
}

interface ClaimAnswer {
  claimed: boolean;
  claim: string | null;
  now: string;
  channels: LiveChannel[];
}

export async function releaseMaintenance(
  db: SupabaseClient,
  target: SyncTarget,
  claim: string,
  error: string | null,
): Promise<void> {
  await rpc(db, "maintenance_release", {
    p_connection_id: target.connectionId,
    p_calendar_id: target.calendarId,
    p_claim: claim,
    p_error: error,
  });
}

export async function withMaintenanceClaim<T>(
  context: { db: SupabaseClient; sleep?: Sleep },
  target: SyncTarget,
  work: (held: HeldMaintenance) => Promise<T>,
  options: { waitMs?: number; leaseSeconds?: number } = {},
): Promise<T> {
  const sleep = context.sleep ?? realSleep;
  const attempts = Math.max(1, Math.ceil((options.waitMs ?? 10_000) / 100));
  for (let attempt = 1;; attempt++) {
    const taken = await rpc<ClaimAnswer>(context.db, "maintenance_claim", {
      p_connection_id: target.connectionId,
      p_calendar_id: target.calendarId,
      p_lease_seconds: options.leaseSeconds ?? 60,
    });
    if (!taken.claimed || taken.claim === null) {
      if (attempt >= attempts) {
        throw new Error("another process kept maintaining this calendar; try again shortly");
      }
      await sleep(100);
      continue;
    }
    try {
      const result = await work({
        claim: taken.claim,
        now: Date.parse(taken.now),
        channels: taken.channels,
      });
      await releaseMaintenance(context.db, target, taken.claim, null);
      return result;
    } catch (error) {
      await releaseMaintenance(context.db, target, taken.claim, describeError(error).slice(0, 500));
      throw error;
    }
  }
}
