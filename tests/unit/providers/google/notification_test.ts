// The receiver's one database call: over the direct connection, and through the Data API while
// that connection is unavailable; either way the handler gets the same outcome.
import assert from "node:assert/strict";
import { createClient } from "@supabase/supabase-js";
import type { DirectSql } from "../../../../supabase/functions/_shared/db/direct_sql.ts";
import {
  type NotificationHeaders,
  receiveNotification,
  type ReceiverDeps,
} from "../../../../supabase/functions/_shared/providers/google/notification.ts";

const notification: NotificationHeaders = {
  channelId: "channel-1",
  resourceId: "resource-1",
  resourceState: "exists",
  messageNumber: 7,
  channelToken: "secret",
};
const marked = {
  outcome: "marked",
  connection_id: "connection-1",
  calendar_id: "primary",
  sync_running: false,
  lease_remaining_ms: null,
};

/** A direct connection that answers like google_receive_notifications, or fails with `error`. */
function fakeDirectSql(behaviour: { error?: Error }) {
  const statements: { text: string; items: unknown }[] = [];
  const sql = ((strings: TemplateStringsArray, ...values: { value: unknown; type: number }[]) => {
    statements.push({ text: strings.join("$"), items: values[0].value });
    if (behaviour.error) return Promise.reject(behaviour.error);
    return Promise.resolve([{ answers: (values[0].value as unknown[]).map(() => marked) }]);
  }) as unknown as DirectSql;
  // As postgres.js marks a value to be sent as jsonb (oid 3802).
  sql.json = ((value: unknown) => ({ value, type: 3802 })) as unknown as DirectSql["json"];
  return { sql, statements };
}

/** A Data API client whose every request is answered by google_receive_notifications' stand-in. */
function fakeDataApi() {
  const requests: { url: string; body: unknown }[] = [];
  const db = createClient("http://api.test", "service-key", {
    accessToken: () => Promise.resolve("service-key"),
    global: {
      fetch: (input: RequestInfo | URL, init?: RequestInit) => {
        requests.push({ url: String(input), body: JSON.parse(String(init?.body)) });
        return Promise.resolve(Response.json([marked]));
      },
    },
  });
  return { db, requests };
}

function deps(direct: DirectSql | null, db: ReturnType<typeof fakeDataApi>["db"]): ReceiverDeps {
  return { db, directSql: () => direct, clock: { now: () => 0, monotonic: () => 0 } };
}

const expected = {
  kind: "marked",
  target: { connectionId: "connection-1", calendarId: "primary" },
  syncRunning: false,
  leaseRemainingMs: null,
};

Deno.test("with a direct connection, the notification is one statement on it and no Data API request", async () => {
  const direct = fakeDirectSql({});
  const api = fakeDataApi();
  assert.deepEqual(await receiveNotification(deps(direct.sql, api.db), notification), expected);
  assert.equal(direct.statements.length, 1);
  assert.match(direct.statements[0].text, /public\.google_receive_notifications\(\$\)/);
  const [item] = direct.statements[0].items as Record<string, unknown>[];
  assert.equal(item.channel_id, "channel-1");
  assert.equal(item.message_number, 7);
  assert.match(String(item.token_sha256), /^[0-9a-f]{64}$/, "the token's hash, never the token");
  assert.equal(api.requests.length, 0);
});

Deno.test("without one, the notification goes through the Data API", async () => {
  const api = fakeDataApi();
  assert.deepEqual(await receiveNotification(deps(null, api.db), notification), expected);
  assert.equal(api.requests.length, 1);
  assert.match(api.requests[0].url, /\/rest\/v1\/rpc\/google_receive_notifications$/);
});

Deno.test("a refused direct connection: the same notification is received through the Data API, and the next one skips the direct connection", async () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
    code: "ECONNREFUSED",
  });
  const direct = fakeDirectSql({ error: refused });
  const api = fakeDataApi();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (line: string) => warnings.push(line);
  try {
    const receiver = deps(direct.sql, api.db);
    assert.deepEqual(await receiveNotification(receiver, notification), expected);
    assert.deepEqual(await receiveNotification(receiver, notification), expected);
  } finally {
    console.warn = warn;
  }
  assert.equal(direct.statements.length, 1, "tried once, then paused");
  assert.equal(api.requests.length, 2);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /direct database connection failed \(connect ECONNREFUSED/);
});

Deno.test("a batch's notifications for a calendar no sync holds: the first starts its sync, the others are served by it", async () => {
  const direct = fakeDirectSql({});
  const receiver = deps(direct.sql, fakeDataApi().db);
  // The first goes out alone (nothing under way); the next two share the second batch.
  const outcomes = await Promise.all(
    [1, 2, 3].map((n) => receiveNotification(receiver, { ...notification, messageNumber: n })),
  );
  assert.deepEqual(direct.statements.map((s) => (s.items as unknown[]).length), [1, 2]);
  assert.deepEqual(
    outcomes.map((o) => o.kind === "marked" && o.syncRunning),
    [false, false, true],
    "one sync start per calendar per batch",
  );
  assert.deepEqual(outcomes.map((o) => o.kind === "marked" && o.leaseRemainingMs), [
    null,
    null,
    null,
  ], "nothing to take over: no run holds the calendar");
});
