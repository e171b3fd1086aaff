/**
 * The {@link ScheduleStore} of recalculate.ts over PostgREST: each method is one call of a
 * service-only SQL function from migration 20261121000200_scheduling.sql (one transaction each).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { unwrap } from "../db/clients.ts";
import type {
  ApplyOutcome,
  ApplyRequest,
  Claim,
  LoadedInputs,
  ScheduleStore,
} from "./recalculate.ts";

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function supabaseScheduleStore(db: SupabaseClient): ScheduleStore {
  return {
    async requestRecalc(userId) {
      return unwrap(await db.rpc("schedule_request_recalc", { p_user_id: userId })) as {
        running: boolean;
      };
    },

    async claimRecalc(userId, leaseSeconds) {
      return unwrap(
        await db.rpc("schedule_claim_recalc", {
          p_user_id: userId,
          p_lease_seconds: leaseSeconds,
        }),
      ) as Claim | null;
    },

    async finishRecalc(userId, claimToken, error) {
      return unwrap(
        await db.rpc("schedule_finish_recalc", {
          p_user_id: userId,
          p_claim_token: claimToken,
          p_error: error,
        }),
      ) as { needs_run: boolean };
    },

    async loadInputs(userId, from, to) {
      return unwrap(
        await db.rpc("schedule_load_inputs", {
          p_user_id: userId,
          p_from: iso(from),
          p_to: iso(to),
        }),
      ) as LoadedInputs;
    },

    async applyPlan(request: ApplyRequest) {
      return unwrap(
        await db.rpc("schedule_apply_plan", {
          p_user_id: request.userId,
          p_claim_token: request.claimToken,
          p_expected: request.expected,
          p_input_hash: request.inputHash,
          p_local_date: request.localDate,
          p_changes: request.changes.map((c) => ({
            id: c.id,
            status: c.status,
            unscheduled_reason: c.unscheduled_reason,
            blocks: c.blocks.map((b) => ({
              index: b.index,
              starts_at: iso(b.start),
              ends_at: iso(b.end),
            })),
          })),
          p_run: request.run,
        }),
      ) as ApplyOutcome;
    },

    async usersToPlan() {
      return (unwrap(await db.rpc("schedule_users_to_plan")) as string[] | null) ?? [];
    },
  };
}
