// The people the client and status page tests look at: a planner with sessions and working
// hours every day (so the plan lands within the week whenever the tests run), optionally a
// Google calendar and a Calendly account connected, all through the real doors (emulators,
// setup-calendar-webhook). Also the client as such a user gets it.
import { createUser, type Sql, stack, type TestUser } from "../../devkit/stack.ts";
import {
  calendarApi,
  connectGoogle,
  createGoogleAccount,
  type GoogleAccount,
} from "../../devkit/google.ts";
import {
  type CalendlyAccount,
  connectCalendly,
  createCalendlyAccount,
} from "../../devkit/calendly.ts";
import { type CalendarSyncClient, createCalendarSyncClient } from "../../web/client/mod.ts";

export type { Sql };

export const HOUR = 3_600_000;

const EVERY_DAY_8_TO_20 = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((day) => [day, [
    { start: "08:00", end: "20:00" },
  ]]),
);

export interface Planner {
  user: TestUser;
  google?: { account: GoogleAccount; connectionId: string };
  calendly?: { account: CalendlyAccount; connectionId: string };
  sessionTitles: string[];
}

/** A user with preferences and one-hour sessions titled `${label} focus 1..n`. */
export async function createPlanner(
  sql: Sql,
  label: string,
  options: { sessions?: number; google?: boolean; calendly?: boolean } = {},
): Promise<Planner> {
  const user = await createUser(sql, label);
  await sql`insert into public.scheduling_preferences (user_id, time_zone, working_hours,
      freeze_hours, horizon_days, buffer_before_minutes, buffer_after_minutes)
    values (${user.id}, 'UTC', ${sql.json(EVERY_DAY_8_TO_20)}, 0, 7, 0, 0)`;
  const sessionTitles: string[] = [];
  for (let index = 1; index <= (options.sessions ?? 2); index++) {
    const title = `${label} focus ${index}`;
    sessionTitles.push(title);
    // Two hours out at the earliest: a block placed minutes from now starts (and is frozen,
    // never moved again) while a test is still booking a meeting over it.
    await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
        earliest_start)
      values (${user.id}, ${title}, 60, ${index}, now() + interval '2 hours')`;
  }
  const planner: Planner = { user, sessionTitles };
  if (options.google ?? true) {
    const account = await createGoogleAccount(user);
    const setup = await connectGoogle(user, account);
    planner.google = { account, connectionId: setup.connection.id };
  }
  if (options.calendly) {
    const account = await createCalendlyAccount(user);
    const setup = await connectCalendly(user, account);
    planner.calendly = { account, connectionId: setup.connection.id };
  }
  return planner;
}

/** Adds an event to the planner's Google calendar, as the user would in Google Calendar. */
export async function addGoogleEvent(
  account: GoogleAccount,
  summary: string,
  start: Date,
  end: Date,
): Promise<string> {
  const response = await calendarApi(account, "/events", {
    method: "POST",
    body: JSON.stringify({
      summary,
      start: { dateTime: start.toISOString() },
      end: { dateTime: end.toISOString() },
    }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`events.insert: ${JSON.stringify(body)}`);
  return body.id;
}

/** The client as the signed-in `user` of a page would have it (a handed-over access token). */
export function clientFor(user: TestUser | null): CalendarSyncClient {
  return createCalendarSyncClient({
    supabaseUrl: stack.apiUrl,
    anonKey: stack.anonKey,
    accessToken: user?.jwt,
  });
}

/** From the start of today (UTC) for `days` days. */
export function daysFromToday(days = 7): { from: Date; to: Date } {
  const from = new Date();
  from.setUTCHours(0, 0, 0, 0);
  return { from, to: new Date(from.getTime() + days * 24 * HOUR) };
}
