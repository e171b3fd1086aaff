// A fleet of watched Google calendars whose channels are due for renewal, seeded directly (the
// maintenance benches need thousands; connecting each through setup-calendar-webhook would take
// longer than the benches themselves):
//   - each user is connected once through setup-calendar-webhook (so the connection row holds
//     tokens the functions can open); its primary calendar stays healthy and is not counted;
//   - the calendars counted are secondary calendars created at the emulator, each with a live
//     channel opened there with events.watch (as an earlier maintenance run would have) that
//     expires within the renewal lead, and the rows that run would have left in the database:
//     the calendar's sync state (synced just now, so no backup is due) and its active channel.
// The channels' `sync` messages go to a local sink, not to the app's receiver: the app never
// recorded them as pending (they are seeded as already active).
import {
  accountAccessToken,
  connectGoogle,
  createGoogleAccount,
  emulator,
  inParallel,
} from "../../devkit/google.ts";
import { sha256Hex } from "../../supabase/functions/_shared/security/crypto.ts";
import { createUser, type Sql, stack, type TestUser } from "../../devkit/stack.ts";

export type { Sql };

export interface FleetUser {
  user: TestUser;
  refreshToken: string;
  connectionId: string;
}

export interface FleetCalendar {
  connectionId: string;
  userId: string;
  calendarId: string;
  channelId: string;
}

export interface Fleet {
  users: FleetUser[];
  calendars: FleetCalendar[];
  connectionIds: string[];
}

/** A local endpoint answering every push with 200, for the seeded channels' `sync` messages. */
export function startSink(): { url: string; close: () => Promise<void> } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(null, { status: 200 }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/push`, close: () => server.shutdown() };
}

/**
 * `users` users with `perUser` due calendars each. `channelTtlSeconds` (below the 24 h lead)
 * makes every seeded channel due for renewal at once.
 */
export async function seedDueFleet(
  sql: Sql,
  options: { label: string; users: number; perUser: number; sinkUrl: string; ttlSeconds: number },
): Promise<Fleet> {
  const users = await inParallel(
    Array.from({ length: options.users }),
    6,
    async (): Promise<FleetUser> => {
      const user = await createUser(sql, options.label);
      const account = await createGoogleAccount(user);
      const setup = await connectGoogle(user, account);
      return { user, refreshToken: account.refresh_token, connectionId: setup.connection.id };
    },
  );
  const tokens = await inParallel(users, 8, (user) => accountAccessToken(user.refreshToken));
  const slots = users.flatMap((user, u) =>
    Array.from({ length: options.perUser }, () => ({ user, token: tokens[u] }))
  );
  const seeded = await inParallel(slots, 16, async ({ user, token }) => {
    const calendar = await emulator<{ id: string }>("/calendars", { email: user.user.email });
    const channelId = crypto.randomUUID();
    const secret = crypto.randomUUID();
    const response = await fetch(
      `${stack.googleEmulatorUrl}/calendar/v3/calendars/${
        encodeURIComponent(calendar.id)
      }/events/watch`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          id: channelId,
          type: "web_hook",
          address: options.sinkUrl,
          token: secret,
          params: { ttl: String(options.ttlSeconds) },
        }),
      },
    );
    const watch = await response.json();
    if (!response.ok) {
      throw new Error(`events.watch → ${response.status}: ${JSON.stringify(watch)}`);
    }
    return {
      state: {
        connection_id: user.connectionId,
        calendar_id: calendar.id,
        user_id: user.user.id,
        needs_sync: false,
        marked_at: null,
        full_sync_required: false,
      },
      channel: {
        provider: "google",
        connection_id: user.connectionId,
        user_id: user.user.id,
        calendar_id: calendar.id,
        channel_id: channelId,
        resource_id: watch.resourceId as string,
        resource_uri: watch.resourceUri as string,
        token_hash: await sha256Hex(secret),
        expiration: new Date(Number(watch.expiration)),
        status: "active",
      },
    };
  });
  // Synced just now by the database's clock: only the renewal is due.
  const [{ now }] = await sql`select public.app_now() as now`;
  for (let i = 0; i < seeded.length; i += 1000) {
    const chunk = seeded.slice(i, i + 1000);
    await sql`insert into public.calendar_sync_state
      ${sql(chunk.map((row) => ({ ...row.state, last_synced_at: now })))}`;
    await sql`insert into public.calendar_webhook_channels ${sql(chunk.map((row) => row.channel))}`;
  }
  return {
    users,
    calendars: seeded.map((row) => ({
      connectionId: row.state.connection_id,
      userId: row.state.user_id,
      calendarId: row.state.calendar_id,
      channelId: row.channel.channel_id,
    })),
    connectionIds: users.map((user) => user.connectionId),
  };
}

/** The fleet's calendars still without an active channel that outlives the renewal lead. */
export async function dueCalendars(sql: Sql, fleet: Fleet): Promise<number> {
  const [{ due }] = await sql`select count(*)::int as due from public.calendar_sync_state s
    where s.connection_id = any(${fleet.connectionIds}::uuid[])
      and s.calendar_id like '%@group.calendar.google.com'
      and not exists (select 1 from public.calendar_webhook_channels ch
        where ch.connection_id = s.connection_id and ch.calendar_id = s.calendar_id
          and ch.status = 'active' and ch.expiration
            > public.app_now() + (select renew_lead from public.maintenance_settings))`;
  return due;
}
