// Test-side helpers for the Google emulator's control API and for comparing the app's mirror
// with what the emulator holds.
import assert from "node:assert/strict";
import { callEmulatorControl } from "./emulator_control.ts";
import { stack, type TestUser } from "./stack.ts";
import type postgres from "postgres";

export function emulator<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
  method?: string,
): Promise<T> {
  return callEmulatorControl<T>("emulator", stack.googleEmulatorUrl, path, body, method);
}

export interface GoogleAccount {
  email: string;
  refresh_token: string;
  calendar_id: string;
}

export function createGoogleAccount(user: TestUser, timeZone = "UTC"): Promise<GoogleAccount> {
  return emulator<GoogleAccount>("/accounts", { email: user.email, time_zone: timeZone });
}

export function seedEvents(calendarId: string, count: number, startInHours = 1) {
  return emulator(`/calendars/${encodeURIComponent(calendarId)}/seed`, {
    count,
    start: new Date(Date.now() + startInHours * 3600_000).toISOString(),
    durationMinutes: 30,
    spacingMinutes: 60,
  });
}

/** An access token of the account's own (what a second app of the user's would hold). */
export async function accountAccessToken(refreshToken: string): Promise<string> {
  const response = await fetch(`${stack.googleEmulatorUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: refreshToken,
      client_id: "emulator-client-id",
      client_secret: "emulator-client-secret",
    }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`token endpoint → ${response.status}: ${JSON.stringify(body)}`);
  return body.access_token as string;
}

/** A user's access token against the emulator's Calendar API (what a second app would use). */
export async function calendarApi(
  account: GoogleAccount,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const token = await accountAccessToken(account.refresh_token);
  return fetch(
    `${stack.googleEmulatorUrl}/calendar/v3/calendars/${
      encodeURIComponent(account.calendar_id)
    }${path}`,
    {
      ...init,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...init.headers,
      },
    },
  );
}

/** Connects the account's primary calendar, or `calendarId` of the same account. */
export async function connectGoogle(user: TestUser, account: GoogleAccount, calendarId?: string) {
  const response = await fetch(stack.functionUrl("setup-calendar-webhook"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: account.refresh_token, calendar_id: calendarId }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body as {
    connection: { id: string; status: string };
    calendar_id: string;
    channel: { id: string; expiration: string; opened: boolean };
    sync: { full_sync: boolean; events_synced: number; events_total: number };
  };
}

interface TruthEvent {
  id: string;
  start: { dateTime?: string; date?: string };
  end: { dateTime?: string; date?: string };
}

/** The emulator's truth as `id → [start ms, end ms]` (timed events only). */
export async function truth(calendarId: string): Promise<Map<string, [number, number]>> {
  const body = await emulator<{ items: TruthEvent[] }>(
    `/calendars/${encodeURIComponent(calendarId)}/events`,
  );
  return new Map(
    body.items.map((event) => [
      event.id,
      [Date.parse(event.start.dateTime!), Date.parse(event.end.dateTime!)],
    ]),
  );
}

/** The app's mirror as `id → [start ms, end ms]`: the connection's, or one calendar's of it. */
export async function mirror(
  sql: ReturnType<typeof postgres>,
  connectionId: string,
  calendarId?: string,
): Promise<Map<string, [number, number]>> {
  const rows = await sql`select external_id, starts_at, ends_at from public.calendar_events
    where connection_id = ${connectionId}
      and (${calendarId ?? null}::text is null or calendar_id = ${calendarId ?? null})`;
  return new Map(
    rows.map((row) => [row.external_id, [row.starts_at.getTime(), row.ends_at.getTime()]]),
  );
}

export async function mirrorMatchesTruth(
  sql: ReturnType<typeof postgres>,
  connectionId: string,
  calendarId: string,
): Promise<boolean> {
  const [expected, actual] = await Promise.all([
    truth(calendarId),
    mirror(sql, connectionId, calendarId),
  ]);
  if (expected.size !== actual.size) return false;
  for (const [id, [start, end]] of expected) {
    const row = actual.get(id);
    if (!row || row[0] !== start || row[1] !== end) return false;
  }
  return true;
}

/** Runs `work` over `items`, at most `concurrency` at a time (many accounts at once). */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** A secondary calendar of the account (calendars.insert, through the control API). */
export async function createSecondaryCalendar(account: GoogleAccount): Promise<string> {
  const calendar = await emulator<{ id: string }>("/calendars", { email: account.email });
  return calendar.id;
}

// ---------------------------------------------------------------------------------------------
// Simulated time. The database decides with app_now() (now() + public.app_clock's offset) and
// the emulator with its own clock (real time + an offset); both keep running in real time, so
// moving both offsets by the same amount keeps them together. Always restore with
// resetSimulatedClocks (other tests expect real time).

type Sql = ReturnType<typeof postgres>;

export async function advanceSimulatedClocks(sql: Sql, ms: number): Promise<void> {
  await sql`update public.app_clock
    set offset_interval = offset_interval + make_interval(secs => ${ms / 1000})`;
  await emulator("/clock", { advanceMs: ms });
}

export async function resetSimulatedClocks(sql: Sql): Promise<void> {
  await sql`update public.app_clock set offset_interval = '0'`;
  await emulator("/clock", { real: true });
}

/** The database's clock, app_now(), in epoch ms. */
export async function databaseNow(sql: Sql): Promise<number> {
  const [row] = await sql`select public.app_now() as now`;
  return (row.now as Date).getTime();
}

/** Runs a pg_cron job's command text as pg_cron would (one statement, its own transaction). */
export async function runCronJob(sql: Sql, jobname: string): Promise<void> {
  const [job] = await sql`select command from cron.job where jobname = ${jobname}`;
  if (!job) throw new Error(`no pg_cron job named ${jobname}`);
  await sql.unsafe(job.command);
}

/**
 * Runs `work` with pg_cron's own schedule of `jobname` paused (the test runs the command itself,
 * at simulated times), restoring the job's previous state afterwards.
 */
export async function withCronJobPaused<T>(
  sql: Sql,
  jobname: string,
  work: () => Promise<T>,
): Promise<T> {
  const [job] = await sql`select jobid, active from cron.job where jobname = ${jobname}`;
  if (!job) throw new Error(`no pg_cron job named ${jobname}`);
  await sql`select cron.alter_job(${job.jobid}::bigint, active := false)`;
  try {
    return await work();
  } finally {
    await sql`select cron.alter_job(${job.jobid}::bigint, active := ${job.active})`;
  }
}

export interface EmulatorChannel {
  id: string;
  resourceId: string;
  calendarId: string;
  status: "active" | "stopped" | "expired";
  created: number;
  stopped: number | null;
  expiration: number;
  stopReason: "channels.stop" | "calendar.deleted" | null;
}

/** Every channel the emulator has seen (since its last reset), optionally one status only. */
export async function emulatorChannels(
  status?: EmulatorChannel["status"],
): Promise<EmulatorChannel[]> {
  const query = status ? `?status=${status}` : "";
  return (await emulator<{ channels: EmulatorChannel[] }>(`/channels${query}`)).channels;
}

export interface ChannelCoverage {
  calendarId: string;
  gaps: { from: number; to: number; ms: number }[];
  covered: boolean;
}

/** Per calendar: was some channel live at every instant of [from, to) (emulator clock)? */
export async function channelCoverage(
  calendarIds: string[],
  from: number,
  to: number,
): Promise<ChannelCoverage[]> {
  const all = await emulator<{ calendars: ChannelCoverage[] }>(
    `/channels/coverage?from=${from}&to=${to}`,
  );
  const wanted = new Set(calendarIds);
  const found = all.calendars.filter((coverage) => wanted.has(coverage.calendarId));
  // A calendar that never had a channel is not listed at all: it was never covered.
  const listed = new Set(found.map((coverage) => coverage.calendarId));
  for (const calendarId of calendarIds) {
    if (!listed.has(calendarId)) {
      found.push({ calendarId, gaps: [{ from, to, ms: to - from }], covered: false });
    }
  }
  return found;
}

/**
 * Waits until the maintenance and sync work on the given connections has finished: pg_net has
 * sent every queued request, the emulator has delivered every notification, and no calendar
 * of theirs is claimed (a live lease), mid-sync or marked as needing a sync.
 */
export async function untilCalendarsSettle(
  sql: Sql,
  connectionIds: string[],
  { timeoutMs = 60_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    await emulator("/deliveries/flush", {});
    const [row] = await sql`select
      (select count(*) from net.http_request_queue)::int as queued,
      (select count(*) from public.calendar_sync_state
        where connection_id = any(${connectionIds}::uuid[])
          and ((maintenance_claim is not null and maintenance_lease_until > public.app_now())
            or (claim_token is not null and lease_until > public.app_now())
            or needs_sync))::int as busy`;
    if (row.queued === 0 && row.busy === 0) return;
    last = `${row.queued} request(s) queued, ${row.busy} calendar(s) busy`;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`maintenance did not settle in ${timeoutMs} ms: ${last}`);
}

/** What Google would send for one channel the app opened, ready to be fired at the receiver. */
export interface ChannelNotifier {
  channelId: string;
  connectionId: string;
  calendarId: string;
  /** The headers of the next `exists` notification (a higher message number each call). */
  headers(): Record<string, string>;
}

/**
 * Valid push notifications for a channel the app opened: its id, its secret token (the database
 * keeps only a hash; the emulator's control API shows the token), its resource id and URI, and
 * message numbers that increase with gaps, as Google's do.
 */
export async function channelNotifier(
  sql: ReturnType<typeof postgres>,
  channelId: string,
): Promise<ChannelNotifier> {
  const { channels } = await emulator<{
    channels: { id: string; token: string; expiration: string }[];
  }>("/channels");
  const channel = channels.find((c) => c.id === channelId);
  if (!channel) throw new Error(`the emulator does not know channel ${channelId}`);
  const [row] = await sql`select connection_id, calendar_id, resource_id, resource_uri,
      last_message_number
    from public.calendar_webhook_channels where channel_id = ${channelId}`;
  if (!row) throw new Error(`the app does not know channel ${channelId}`);
  let messageNumber = Number(row.last_message_number ?? 1) + 100;
  const expiration = new Date(Number(channel.expiration)).toUTCString();
  return {
    channelId,
    connectionId: row.connection_id,
    calendarId: row.calendar_id,
    headers: () => ({
      "content-type": "application/json; utf-8",
      "user-agent": "APIs-Google",
      "x-goog-channel-id": channel.id,
      "x-goog-channel-token": channel.token,
      "x-goog-channel-expiration": expiration,
      "x-goog-resource-id": row.resource_id,
      "x-goog-resource-uri": row.resource_uri ?? "",
      "x-goog-resource-state": "exists",
      "x-goog-message-number": String(messageNumber += 2 + (messageNumber % 3)),
    }),
  };
}
