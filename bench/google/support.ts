// Helpers shared by the Google benches: a fresh calendar connection written directly in SQL,
// emulator counters and a service-role supabase-js client (statistics and formatting are in
// bench/support.ts, re-exported here).
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { GoogleConfig } from "../../supabase/functions/_shared/providers/google/mod.ts";
import { createUser, type Sql, stack, stackStateDir, type TestUser } from "../../devkit/stack.ts";
import {
  createGoogleAccount,
  emulator,
  type GoogleAccount,
  seedEvents,
} from "../../devkit/google.ts";

export type { Sql };
export {
  cpuSeconds,
  fmt,
  int,
  latencyColumns,
  machineTicks,
  median,
  percentile,
  ratio,
  table,
} from "../support.ts";
import { childPids, cpuSeconds } from "../support.ts";

export function serviceClient(): SupabaseClient {
  return createClient(stack.apiUrl, stack.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: "public" },
  });
}

export interface EmulatorCounters {
  counts: Record<string, number>;
  max_in_flight: Record<string, number>;
}

export async function resetCounters(): Promise<void> {
  await emulator("/counters/reset", {});
}

export function readCounters(): Promise<EmulatorCounters> {
  return emulator<EmulatorCounters>("/counters");
}

export interface FreshCalendar {
  user: TestUser;
  account: GoogleAccount;
  connectionId: string;
  calendarId: string;
}

/**
 * A new user and emulator account holding `events` future events, and the rows setup would
 * have written for it (see providers/google/connect.ts): an active `calendar_connections` row
 * and a `calendar_sync_state` row marked as needing a (full) sync. No channel, no stored tokens:
 * the benches hand the refresh token to the client directly.
 */
export async function freshCalendar(sql: Sql, label: string, events: number) {
  const user = await createUser(sql, label);
  const account = await createGoogleAccount(user, "UTC");
  if (events > 0) await seedEvents(account.calendar_id, events);
  const [connection] = await sql`insert into public.calendar_connections
      (user_id, provider, external_account_id, status)
    values (${user.id}, 'google', ${account.calendar_id}, 'active')
    returning id`;
  await sql`insert into public.calendar_sync_state
      (connection_id, calendar_id, user_id, needs_sync, time_zone)
    values (${connection.id}, ${account.calendar_id}, ${user.id}, true, 'UTC')`;
  return {
    user,
    account,
    connectionId: connection.id as string,
    calendarId: account.calendar_id,
  } satisfies FreshCalendar;
}

export async function countMirrorRows(sql: Sql, connectionId: string): Promise<number> {
  const [{ n }] = await sql`select count(*)::int as n from public.calendar_events
    where connection_id = ${connectionId}`;
  return n as number;
}

/** Google settings pointing at the stack's emulator (what the local functions use). */
export function emulatorGoogleConfig(): GoogleConfig {
  const url = stack.googleEmulatorUrl;
  return {
    clientId: "emulator-client-id",
    clientSecret: "emulator-client-secret",
    oauthTokenUrl: `${url}/token`,
    oauthRevokeUrl: `${url}/revoke`,
    calendarApiUrl: `${url}/`,
  };
}

/**
 * CPU seconds used so far by each part of the local stack (pids/<name>.pid: nginx, the gateway,
 * PostgREST, each function worker, the emulators, the pg_net worker), by PostgreSQL (the
 * postmaster, its live backends and those that exited) and by the `extra` processes (the
 * benchmark itself, a bare server). Two snapshots' difference says where a load's CPU went;
 * null when /proc cannot be read (not Linux).
 */
export async function stackCpuSnapshot(
  sql: Sql,
  extra: Record<string, number> = {},
): Promise<Record<string, number> | null> {
  if (Number.isNaN(cpuSeconds(Deno.pid))) return null;
  const snapshot: Record<string, number> = {};
  for await (const entry of Deno.readDir(`${stackStateDir()}/pids`)) {
    if (!entry.name.endsWith(".pid")) continue;
    const pid = Number((await Deno.readTextFile(`${stackStateDir()}/pids/${entry.name}`)).trim());
    // With its children: nginx's work is done by its worker process.
    snapshot[entry.name.slice(0, -4)] = withChildren(pid);
  }
  const [{ text }] = await sql`select pg_read_file('postmaster.pid') as text`;
  const postmaster = Number(String(text).split("\n")[0]);
  snapshot.postgresql = withChildren(postmaster, true);
  for (const [name, pid] of Object.entries(extra)) snapshot[name] = cpuSeconds(pid);
  return snapshot;
}

/** A process's CPU seconds and its live children's (`exited`: its own exited children's too). */
function withChildren(pid: number, exited = false): number {
  return cpuSeconds(pid, exited) +
    childPids(pid).map((child) => cpuSeconds(child)).filter(Number.isFinite)
      .reduce((a, b) => a + b, 0);
}

/** after − before per part (parts that used less than 10 ms left out), largest first. */
export function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): [string, number][] {
  return Object.entries(after)
    .map(([name, seconds]): [string, number] => [name, seconds - (before[name] ?? 0)])
    .filter(([, seconds]) => Number.isFinite(seconds) && seconds >= 0.01)
    .sort((a, b) => b[1] - a[1]);
}
