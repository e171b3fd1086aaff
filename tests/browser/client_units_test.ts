// The client's pieces that need no stack: how answers map to error kinds, Retry-After, what
// counts as a session, and the watch loop's coalescing.
import assert from "node:assert/strict";
import { kindOf, retryAfterSeconds } from "../../web/client/errors.ts";
import { userOfToken } from "../../web/client/session.ts";
import { CoalescingLoop, watchChanges, WATCHED_TABLES } from "../../web/client/watch.ts";
import type { SupabaseClient } from "@supabase/supabase-js";
import { eventually } from "../../devkit/stack.ts";
import { signRoleKey, signUserToken } from "../../stack/keys.ts";
import { CalendarSyncError } from "../../web/client/mod.ts";

const SECRET = "a-test-secret-of-at-least-32-characters!";

Deno.test("answers map to what the user can do", () => {
  const cases: [number, string | null, string][] = [
    [409, "needs_reauth", "needs_reauth"],
    [400, "invalid_refresh_token", "needs_reauth"],
    [429, "rate_limited", "rate_limited"],
    [503, "provider_rate_limited", "rate_limited"],
    [401, "invalid_jwt", "not_signed_in"],
    [404, "not_found", "not_found"],
    [409, "conflict", "conflict"],
    [422, "invalid_preferences", "invalid_request"],
    [502, "provider_unavailable", "unavailable"],
    [500, "internal_error", "unexpected"],
  ];
  for (const [status, code, kind] of cases) {
    assert.equal(kindOf(status, code), kind, `${status} ${code}`);
  }
});

Deno.test("Retry-After in seconds or as a date", () => {
  const now = Date.parse("2026-11-30T12:00:00Z");
  assert.equal(retryAfterSeconds("37", now), 37);
  assert.equal(retryAfterSeconds("Mon, 30 Nov 2026 12:01:00 GMT", now), 60);
  assert.equal(retryAfterSeconds(null, now), null);
  assert.equal(retryAfterSeconds("soon", now), null);
});

Deno.test("a session is a user's unexpired token; an API key or a stale token is not", async () => {
  const userId = crypto.randomUUID();
  const user = userOfToken(await signUserToken(userId, SECRET, { email: "u@example.test" }));
  assert.equal(user.id, userId);
  assert.equal(user.email, "u@example.test");
  for (
    const token of [
      await signUserToken(userId, SECRET, { expiresInSeconds: -60 }),
      await signRoleKey("anon", SECRET),
      "not-a-jwt",
    ]
  ) {
    assert.throws(
      () => userOfToken(token),
      (error) => error instanceof CalendarSyncError && error.kind === "not_signed_in",
    );
  }
});

Deno.test("the watch loop: a trigger during a read runs exactly one more read, never two at once", async () => {
  let reads = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const gates: (() => void)[] = [];
  const loop = new CoalescingLoop(async () => {
    reads++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((resolve) => gates.push(resolve));
    inFlight--;
  }, () => 60_000);
  loop.trigger();
  loop.trigger();
  loop.trigger();
  assert.equal(reads, 1);
  gates.shift()!();
  // Let the follow-up start.
  while (reads < 2) await new Promise((resolve) => setTimeout(resolve, 1));
  gates.shift()!();
  const stopped = loop.stop();
  await stopped;
  assert.equal(reads, 2);
  assert.equal(maxInFlight, 1);
});

/** A stand-in for supabase-js's Realtime: records the listeners, lets the test drive the feed. */
function fakeRealtime() {
  const listeners: { table: string; filter: string; callback: () => void }[] = [];
  let onStatus: (status: string) => void = () => {};
  let removed = false;
  const channel = {
    on(_type: string, options: { table: string; filter: string }, callback: () => void) {
      listeners.push({ table: options.table, filter: options.filter, callback });
      return channel;
    },
    subscribe(callback: (status: string) => void) {
      onStatus = callback;
      return channel;
    },
  };
  const supabase = {
    channel: () => channel,
    removeChannel: () => {
      removed = true;
      return Promise.resolve("ok");
    },
  } as unknown as SupabaseClient;
  return {
    supabase,
    listeners,
    status: (status: string) => onStatus(status),
    removed: () => removed,
  };
}

Deno.test("the Realtime feed: a change or a (re)subscription reads at once; a lost feed falls back to polling", async () => {
  const realtime = fakeRealtime();
  let reads = 0;
  const readsReach = (count: number) =>
    eventually(() => Promise.resolve(reads >= count), { message: `${count} reads` });
  const watch = watchChanges(realtime.supabase, "user-1", () => {
    reads++;
    return Promise.resolve();
  }, { realtime: true, pollMs: 5, backstopMs: 3_600_000 });
  assert.deepEqual(
    realtime.listeners.map((listener) => [listener.table, listener.filter]),
    WATCHED_TABLES.map((table) => [table, "user_id=eq.user-1"]),
  );
  await readsReach(1);
  let before = reads;
  realtime.status("SUBSCRIBED");
  await readsReach(before + 1);
  // Live: the next read comes from the feed, not from the (hour-long) backstop.
  before = reads;
  realtime.listeners.find((listener) => listener.table === "session_blocks")!.callback();
  await readsReach(before + 1);
  // The socket drops: polling every 5 ms takes over; back again, it reads what it missed.
  before = reads;
  realtime.status("CHANNEL_ERROR");
  await readsReach(before + 3);
  before = reads;
  realtime.status("SUBSCRIBED");
  await readsReach(before + 1);
  await watch.stop();
  assert.ok(realtime.removed(), "the channel is removed on stop()");
});
