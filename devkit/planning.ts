// Planning helpers shared by tests, the demo and the benchmarks: a user planned around the
// clock (so a test can place sessions and meetings at any hour), and the "re-plan" button.
import { callFunction, type FunctionAnswer, type Sql, type TestUser } from "./stack.ts";

const ALL_DAY = [{ start: "00:00", end: "24:00" }];

/** Working hours 00:00–24:00 on every day of the week. */
export const AROUND_THE_CLOCK = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => [day, ALL_DAY]),
);

/**
 * The user's scheduling preferences: planned in UTC around the clock, no buffers, no freeze,
 * over `horizonDays` (7), write-back on or off (off).
 */
export async function planAroundTheClock(
  sql: Sql,
  userId: string,
  options: { horizonDays?: number; writeBack?: boolean } = {},
): Promise<void> {
  await sql`insert into public.scheduling_preferences (user_id, time_zone, working_hours,
      freeze_hours, horizon_days, buffer_before_minutes, buffer_after_minutes,
      write_back_enabled)
    values (${userId}, 'UTC', ${sql.json(AROUND_THE_CLOCK)}, 0, ${options.horizonDays ?? 7},
      0, 0, ${options.writeBack ?? false})`;
}

/** recalculate-schedule as the user (the "re-plan" button); the answer as it is. */
export function replan(
  user: TestUser,
  options: { force?: boolean } = {},
): Promise<FunctionAnswer<Record<string, unknown>>> {
  return callFunction("recalculate-schedule", user.jwt, options.force ? { force: true } : {});
}
