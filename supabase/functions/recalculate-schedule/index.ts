// Re-plans a user's sessions around their busy time. verify_jwt = false: it authenticates each
// kind of caller itself:
//   - a server (service role) with { user_id, trigger?, force? };
//   - a signed-in user (their JWT) for their own schedule (trigger "manual"; `force` at most
//     once a minute);
//   - pg_cron with x-cron-secret: { trigger: "roll_forward" } re-plans every user whose local
//     day began, { sweep: true } serves "needs a plan" marks nobody served; both answered 202
//     at once and worked in the background.
// 200 { run_id, unchanged, moved, kept, placed, unscheduled: [{id, reason}], follow_ups };
// 202 { coalesced: true } when a run for that user is in progress (it does the follow-up).
// A browser calls it, so it answers CORS preflights.
import { z } from "zod";
import { handle, HttpError, json, parseJsonBody, requireMethod } from "../_shared/http/handler.ts";
import { runInBackground } from "../_shared/http/background.ts";
import { actingUserId, authenticateCaller } from "../_shared/auth/caller.ts";
import { limitUserAction } from "../_shared/auth/rate_limit.ts";
import { planningDeps, services } from "../_shared/services.ts";
import {
  RecalcConflictError,
  recalculateAll,
  recalculateUser,
  serveUnservedMarks,
} from "../_shared/planning/recalculate.ts";
import { RECALC_TRIGGERS } from "../_shared/planning/store.ts";
import { ScheduleInputError } from "../_shared/scheduling/types.ts";

const RecalculateRequest = z.strictObject({
  user_id: z.uuid().optional(),
  trigger: z.enum(RECALC_TRIGGERS).optional(),
  force: z.boolean().optional(),
  sweep: z.literal(true).optional(),
});

const FORCED_REPLAN_INTERVAL_SECONDS = 60;

Deno.serve(handle("recalculate-schedule", async (request) => {
  requireMethod(request, "POST");
  const s = services();
  const caller = await authenticateCaller(request, s.config, ["service", "user", "cron"]);
  const body = await parseJsonBody(request, RecalculateRequest);
  const deps = planningDeps(s);

  if (caller.kind === "cron") {
    if (body.sweep) {
      runInBackground("recalculate-schedule", () => serveUnservedMarks(deps));
      return json({ status: "accepted", sweep: true }, 202);
    }
    if (body.trigger !== undefined && body.trigger !== "roll_forward") {
      throw new HttpError(400, "invalid_request", 'pg_cron sends trigger "roll_forward".');
    }
    runInBackground(
      "recalculate-schedule",
      () => recalculateAll(deps, { trigger: "roll_forward" }),
    );
    return json({ status: "accepted", trigger: "roll_forward" }, 202);
  }

  const userId = actingUserId(caller, body.user_id, "recalculate a schedule");
  if (caller.kind === "user") {
    if (body.trigger !== undefined && body.trigger !== "manual") {
      throw new HttpError(400, "invalid_request", 'A user\'s recalculation is "manual".');
    }
    if (body.force) {
      await limitUserAction(s.db, userId, "forced_replan", FORCED_REPLAN_INTERVAL_SECONDS);
    }
  }
  try {
    const outcome = await recalculateUser(deps, userId, {
      trigger: caller.kind === "user" ? "manual" : body.trigger ?? "manual",
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
}, { cors: true }));
