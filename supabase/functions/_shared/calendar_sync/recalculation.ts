// Asks recalculate-schedule to re-plan one user's sessions after their busy time changed. The
// function coalesces concurrent requests per user, so callers simply ask; a failed request is
// logged, not fatal: the nightly roll-forward converges.
import type { FunctionEnv } from "../env.ts";

export async function requestRecalculation(
  env: FunctionEnv,
  userId: string,
  trigger: "calendar_change" | "calendly_change",
  fetchImpl: typeof fetch = fetch,
): Promise<void> {
  try {
    const response = await fetchImpl(
      `${env.SUPABASE_URL.replace(/\/$/, "")}/functions/v1/recalculate-schedule`,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${env.SUPABASE_SERVICE_ROLE_KEY}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ user_id: userId, trigger }),
      },
    );
    await response.body?.cancel();
    if (!response.ok) {
      console.error(`[recalculation] user=${userId} answered ${response.status}`);
    }
  } catch (error) {
    console.error(`[recalculation] user=${userId} request failed:`, error);
  }
}
