/**
 * The planning job's ScheduleStore over PostgREST: each method is one call of a service-only
 * SQL function from migration *_scheduling.sql (one transaction each).
 */
import type { SupabaseClient } from "@supabase/supabase-js";
import { rpc } from "../db/client.ts";
import type { ApplyOutcome, Claim, LoadedInputs, ScheduleStore } from "./store.ts";

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function createPostgrestScheduleStore(db: SupabaseClient): ScheduleStore {
  return {
    requestRecalc(userId, trigger) {
      return rpc<{ running: boolean }>(db, "schedule_request_recalc", {
        p_user_id: userId,
        p_trigger: trigger,
      });
    },

    claimRecalc(userId, leaseSeconds, load) {
      return rpc<Claim | null>(db, "schedule_claim_recalc", {
        p_user_id: userId,
        p_lease_seconds: leaseSeconds,
        p_from: load ? iso(load.from) : null,
        p_to: load ? iso(load.to) : null,
      });
    },

    finishRecalc(userId, claimToken, error) {
      return rpc<{ needs_run: boolean }>(db, "schedule_finish_recalc", {
        p_user_id: userId,
        p_claim_token: claimToken,
        p_error: error,
      });
    },

    loadInputs(userId, from, to) {
      return rpc<LoadedInputs>(db, "schedule_load_inputs", {
        p_user_id: userId,
        p_from: iso(from),
        p_to: iso(to),
      });
    },

    applyPlan(request) {
      return rpc<ApplyOutcome>(db, "schedule_apply_plan", {
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
        p_finish: request.finish,
      });
    },

    async usersToPlan() {
      return (await rpc<string[] | null>(db, "schedule_users_to_plan")) ?? [];
    },

    async unservedMarks(olderThanSeconds, limit) {
      return (await rpc<string[] | null>(db, "schedule_unserved_marks", {
        p_older_than_seconds: olderThanSeconds,
        p_limit: limit,
      })) ?? [];
    },
  };
}
