// The Google receiver's one database call on both of its paths, against the local stack's real
// database and PostgREST: the direct connection, and the Data API when the direct connection
// fails (refused, or its statement denied). Either way the notification is judged and the
// calendar marked the same.
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import { connectDb, createUser, type Sql, stack } from "../../devkit/stack.ts";
import {
  channelNotifier,
  connectGoogle,
  createGoogleAccount,
  seedEvents,
} from "../../devkit/google.ts";
import { systemClock } from "../../supabase/functions/_shared/clock.ts";
import { createDirectSql } from "../../supabase/functions/_shared/db/direct_sql.ts";
import {
  parseNotificationHeaders,
  receiveNotification,
  type ReceiverDeps,
} from "../../supabase/functions/_shared/providers/google/notification.ts";

function dataApi() {
  const key = stack.serviceRoleKey;
  return createClient(stack.apiUrl, key, { accessToken: () => Promise.resolve(key) });
}

/** A connection string to a port nothing listens on. */
function refusedDbUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `postgresql://postgres:postgres@127.0.0.1:${port}/postgres`;
}

async function connectedCalendar(sql: Sql) {
  const user = await createUser(sql, "receiver-paths");
  const account = await createGoogleAccount(user, "UTC");
  await seedEvents(account.calendar_id, 2);
  const setup = await connectGoogle(user, account);
  const notifier = await channelNotifier(sql, setup.channel.id);
  // As after a finished sync: not marked, nothing holds it.
  await sql`update public.calendar_sync_state set needs_sync = false, claim_token = null,
      lease_until = null
    where connection_id = ${setup.connection.id}`;
  return { connectionId: setup.connection.id, calendarId: account.calendar_id, notifier };
}

async function marked(sql: Sql, connectionId: string): Promise<boolean> {
  const [state] = await sql`select needs_sync from public.calendar_sync_state
    where connection_id = ${connectionId}`;
  return state.needs_sync;
}

for (
  const path of [
    { name: "the direct connection", url: () => stack.dbUrl, warning: null },
    {
      name: "the Data API, the direct connection refused",
      url: refusedDbUrl,
      warning: /direct database connection failed \(.*ECONNREFUSED/,
    },
    {
      // PostgREST's own login role, which may call nothing until it switches role: the
      // statement fails with permission denied, as with a deployer's role without the grant.
      name: "the Data API, the direct connection's role without the grant",
      url: () => {
        const url = new URL(stack.dbUrl);
        url.username = "authenticator";
        return url.href;
      },
      warning: /direct database connection failed \(permission denied for function/,
    },
  ]
) {
  Deno.test(`receiver through ${path.name}: a valid notification marks the calendar, a forged one changes nothing`, async () => {
    const sql = connectDb();
    const direct = createDirectSql(path.url());
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (line: string) => warnings.push(line);
    try {
      const { connectionId, calendarId, notifier } = await connectedCalendar(sql);
      const deps: ReceiverDeps = { db: dataApi(), directSql: () => direct, clock: systemClock };

      const forged = parseNotificationHeaders(
        new Headers({ ...notifier.headers(), "x-goog-channel-token": "not the channel's" }),
      );
      await assert.rejects(receiveNotification(deps, forged), /channel token does not match/);
      assert.equal(await marked(sql, connectionId), false, "a forged notification marks nothing");

      const valid = parseNotificationHeaders(new Headers(notifier.headers()));
      const outcome = await receiveNotification(deps, valid);
      assert.deepEqual(outcome, {
        kind: "marked",
        target: { connectionId, calendarId },
        syncRunning: false,
        leaseRemainingMs: null,
      });
      assert.equal(await marked(sql, connectionId), true);
      // One warning for the failure, however many notifications the pause then sends the other way.
      assert.equal(warnings.length, path.warning ? 1 : 0, warnings.join("\n"));
      if (path.warning) assert.match(warnings[0], path.warning);
      for (const line of warnings) assert.doesNotMatch(line, /postgres:postgres@/, "no password");
    } finally {
      console.warn = warn;
      await direct.end({ timeout: 1 });
      await sql.end();
    }
  });
}
