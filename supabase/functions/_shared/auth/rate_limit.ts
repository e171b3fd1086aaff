// The per-user limit on user-triggered work that costs the project's shared provider quota
// (a forced refresh opens and stops channels; a forced re-plan rewrites a schedule): one per
// action per interval, answered 429 with Retry-After. pg_cron and the service role are never
// limited: they call without a user.
import type { SupabaseClient } from "@supabase/supabase-js";
import { rpc } from "../db/client.ts";
import { HttpError } from "../http/errors.ts";

export async function limitUserAction(
  db: SupabaseClient,
  userId: string,
  action: string,
  minIntervalSeconds: number,
): Promise<void> {
  const waitSeconds = await rpc<number>(db, "take_user_action", {
    p_user_id: userId,
    p_action: action,
    p_min_interval_seconds: minIntervalSeconds,
  });
  if (waitSeconds > 0) {
    throw new HttpError(
      429,
      "rate_limited",
      `Only one ${action.replaceAll("_", " ")} per ${minIntervalSeconds} s; try again in ` +
        `${waitSeconds} s.`,
      undefined,
      { "retry-after": String(waitSeconds) },
    );
  }
}
