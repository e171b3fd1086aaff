// Helpers shared by the benches of the chain "a change at Google → the user's plan": a user with
// a connected Google calendar, scheduling preferences and flexible sessions (set up the way
// tests/integration/schedule_after_calendar_change_test.ts and write_back_test.ts do), their
// blocks, and waiting until nothing of theirs is running.
import { connectGoogle, createGoogleAccount, type GoogleAccount } from "../../devkit/google.ts";
import { createUser, type Sql, stack, type TestUser } from "../../devkit/stack.ts";
import { planAroundTheClock, replan as replanAsUser } from "../../devkit/planning.ts";

export type { Sql };

export interface Planner {
  user: TestUser;
  account: GoogleAccount;
  connectionId: string;
  channelId: string;
}

export interface PlannerOptions {
  sessions: number;
  sessionMinutes?: number;
  horizonDays?: number;
  /** Write the planned blocks to a "Planned sessions" calendar (the opt-in). */
  writeBack?: boolean;
}

/**
 * A user connected through setup-calendar-webhook (real channel, initial sync), planned around
 * the clock (every day 00:00–24:00, no buffers, no freeze) over `horizonDays`, with `sessions`
 * unscheduled sessions that may start 2 h from now at the earliest. Not planned yet.
 */
export async function createPlanner(
  sql: Sql,
  label: string,
  options: PlannerOptions,
): Promise<Planner> {
  const user = await createUser(sql, label);
  const account = await createGoogleAccount(user, "UTC");
  const setup = await connectGoogle(user, account);
  await planAroundTheClock(sql, user.id, {
    horizonDays: options.horizonDays,
    writeBack: options.writeBack,
  });
  const earliest = new Date(Date.now() + 2 * 3600_000);
  const rows = Array.from({ length: options.sessions }, (_, i) => ({
    user_id: user.id,
    title: `Session ${i}`,
    duration_minutes: options.sessionMinutes ?? 60,
    priority: 1,
    earliest_start: earliest,
  }));
  for (let i = 0; i < rows.length; i += 500) {
    await sql`insert into public.sessions ${
      sql(
        rows.slice(i, i + 500),
        "user_id",
        "title",
        "duration_minutes",
        "priority",
        "earliest_start",
      )
    }`;
  }
  return { user, account, connectionId: setup.connection.id, channelId: setup.channel.id };
}

/** recalculate-schedule as the user (the "re-plan" button); a refusal ends the bench. */
export async function replan(user: TestUser): Promise<Record<string, unknown>> {
  const { status, body } = await replanAsUser(user);
  if (status >= 300) throw new Error(`recalculate-schedule → ${status}: ${JSON.stringify(body)}`);
  return body;
}

export interface Block {
  session_id: string;
  block_key: string;
  starts_at: Date;
  ends_at: Date;
}

/** The user's current blocks of scheduled sessions, earliest first. */
export function blocksOf(sql: Sql, userId: string): Promise<Block[]> {
  return sql<Block[]>`select b.session_id, b.block_key, b.starts_at, b.ends_at
    from public.session_blocks b join public.sessions s on s.id = b.session_id
    where b.user_id = ${userId} and s.status = 'scheduled' order by b.starts_at`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Until nothing of the user's runs: no calendar held by a sync, no plan running, and no mark
 * younger than 1 s (a fresh mark is about to be served) — three polls in a row, 20 ms apart.
 * Returns how many marks were left unserved: a sync call starts follow-ups for 60 s at most and
 * the planner makes 5 follow-ups, leaving the mark to the next trigger or the minute sweep.
 */
export async function settled(
  sql: Sql,
  userId: string,
  timeoutMs = 30_000,
): Promise<{ leftMarked: number }> {
  const deadline = Date.now() + timeoutMs;
  let quiet = 0;
  while (Date.now() < deadline) {
    const [state] = await sql`select
        (select count(*) from public.calendar_sync_state where user_id = ${userId}
          and (claim_token is not null
            or (needs_sync and marked_at > public.app_now() - interval '1 second')))::int
          + (select count(*) from public.schedule_recalc_state where user_id = ${userId}
          and (claim_token is not null
            or (needs_run and requested_at > public.app_now() - interval '1 second')))::int
          as busy,
        (select count(*) from public.calendar_sync_state
          where user_id = ${userId} and needs_sync)::int
          + (select count(*) from public.schedule_recalc_state
          where user_id = ${userId} and needs_run)::int as marked`;
    quiet = state.busy === 0 ? quiet + 1 : 0;
    if (quiet >= 3) return { leftMarked: state.marked };
    await sleep(20);
  }
  throw new Error(`user ${userId}: syncs and plans did not settle within ${timeoutMs} ms`);
}

/** A Calendar API request as the user (a bearer token from the emulator's token endpoint). */
export async function calendarRequest(
  token: string,
  calendarId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(
    `${stack.googleEmulatorUrl}/calendar/v3/calendars/${encodeURIComponent(calendarId)}${path}`,
    {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
  );
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A meeting exactly over `block` in the user's calendar; returns its event id. */
export async function meetingOver(token: string, calendarId: string, block: Block, title: string) {
  const event = await calendarRequest(token, calendarId, "POST", "/events", {
    summary: title,
    start: { dateTime: block.starts_at.toISOString() },
    end: { dateTime: block.ends_at.toISOString() },
  });
  return String(event.id);
}
