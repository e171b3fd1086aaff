// Re-plans a user's sessions around their busy time. verify_jwt = false: it authenticates each
// kind of caller itself:
//   - the service role with { user_id, trigger? } (the sync paths after busy time changed);
//   - a signed-in user (their JWT) for their own schedule (trigger "manual");
//   - pg_cron with x-cron-secret and { trigger: "nightly" }: every user due a roll-forward, in
//     the background (answers 202 at once).
// 200 { run_id, unchanged, moved, kept, placed, unscheduled: [{id, reason}], follow_ups };
// 202 { coalesced: true } when a run for that user is in progress (it does the follow-up).
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
import {
  RECALC_TRIGGERS,
  RecalcConflictError,
  recalculateAll,
  recalculateUser,
} from "../_shared/scheduling/recalculate.ts";
import { supabaseScheduleStore } from "../_shared/scheduling/store_supabase.ts";
import { ScheduleInputError } from "../_shared/scheduling/types.ts";

const RecalculateRequest = z.strictObject({
  user_id: z.uuid().optional(),
  trigger: z.enum(RECALC_TRIGGERS).optional(),
  force: z.boolean().optional(),
});

Deno.serve(handle("recalculate-schedule", async (request) => {
  requireMethod(request, "POST");
  const env = functionEnv();
  const caller = await authenticateCaller(request, env, ["service", "user", "cron"]);
  const body = await parseJsonBody(request, RecalculateRequest);
  const deps = { store: supabaseScheduleStore(createServiceClient(env)) };

  let userId: string;
  let trigger = body.trigger;
  if (caller.kind === "cron") {
    if (trigger !== undefined && trigger !== "nightly") {
      throw new HttpError(400, "invalid_request", 'pg_cron sends trigger "nightly".');
    }
    if (body.user_id === undefined) {
      runInBackground(
        "recalculate-schedule",
        () => recalculateAll(deps, { trigger: "nightly" }),
      );
      return json({ status: "accepted", trigger: "nightly" }, 202);
    }
    userId = body.user_id;
    trigger = "nightly";
  } else if (caller.kind === "user") {
    if (body.user_id !== undefined && body.user_id !== caller.userId) {
      throw new HttpError(403, "forbidden", "A user can recalculate only their own schedule.");
    }
    if (trigger !== undefined && trigger !== "manual") {
      throw new HttpError(400, "invalid_request", 'A user\'s recalculation is "manual".');
    }
    userId = caller.userId;
    trigger = "manual";
  } else {
    if (body.user_id === undefined) {
      throw new HttpError(400, "invalid_request", "The service role must name a user_id.");
    }
    userId = body.user_id;
  }

  try {
    const outcome = await recalculateUser(deps, userId, {
      trigger: trigger ?? "manual",
      force: body.force,
    });
    if (outcome.coalesced) return json({ coalesced: true }, 202);
    const { input_hash: _hash, ...answer } = outcome;
    return json(answer);
  } catch (error) {
    if (error instanceof ScheduleInputError) {
      throw new HttpError(422, "invalid_preferences", error.message);
    }
    if (error instanceof RecalcConflictError) {
      throw new HttpError(409, error.reason, error.message);
    }
    throw error;
  }
}));
