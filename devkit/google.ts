// Test-side helpers for the Google emulator's control API and for comparing the app's mirror
// with what the emulator holds.
import assert from "node:assert/strict";
import { stack, type TestUser } from "./stack.ts";
import type postgres from "postgres";

export async function emulator<T = Record<string, unknown>>(
  path: string,
  body?: unknown,
  method = body === undefined ? "GET" : "POST",
): Promise<T> {
  const response = await fetch(`${stack.googleEmulatorUrl}/__emulator${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`emulator ${method} ${path} → ${response.status}: ${text}`);
  return text ? JSON.parse(text) : ({} as T);
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

/** A user's access token against the emulator's Calendar API (what a second app would use). */
export async function calendarApi(
  account: GoogleAccount,
  path: string,
  init: RequestInit = {},
): Promise<Response> {
  const token = await fetch(`${stack.googleEmulatorUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: account.refresh_token,
      client_id: "emulator-client-id",
      client_secret: "emulator-client-secret",
    }),
  }).then((response) => response.json());
  return fetch(
    `${stack.googleEmulatorUrl}/calendar/v3/calendars/${
      encodeURIComponent(account.calendar_id)
    }${path}`,
    {
      ...init,
      headers: {
        authorization: `Bearer ${token.access_token}`,
        "content-type": "application/json",
        ...init.headers,
      },
    },
  );
}

export async function connectGoogle(user: TestUser, account: GoogleAccount) {
  const response = await fetch(stack.functionUrl("setup-calendar-webhook"), {
    method: "POST",
    headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: account.refresh_token }),
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

export async function mirror(
  sql: ReturnType<typeof postgres>,
  connectionId: string,
): Promise<Map<string, [number, number]>> {
  const rows = await sql`select external_id, starts_at, ends_at from public.calendar_events
    where connection_id = ${connectionId}`;
  return new Map(
    rows.map((row) => [row.external_id, [row.starts_at.getTime(), row.ends_at.getTime()]]),
  );
}

export async function mirrorMatchesTruth(
  sql: ReturnType<typeof postgres>,
  connectionId: string,
  calendarId: string,
): Promise<boolean> {
  const [expected, actual] = await Promise.all([truth(calendarId), mirror(sql, connectionId)]);
  if (expected.size !== actual.size) return false;
  for (const [id, [start, end]] of expected) {
    const row = actual.get(id);
    if (!row || row[0] !== start || row[1] !== end) return false;
  }
  return true;
}
