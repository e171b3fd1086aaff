// A call that prefers the direct connection and goes through the Data API for a while after it
// failed (the Google receiver's database call).
import assert from "node:assert/strict";
import { withFallback } from "../../../supabase/functions/_shared/db/fallback.ts";

function setup(preferredFails: () => Error | null, fallbackFails: () => Error | null = () => null) {
  let t = 0;
  const calls: string[] = [];
  const reports: unknown[] = [];
  const call = withFallback(
    (x: number) => {
      calls.push(`preferred ${x}`);
      const error = preferredFails();
      return error ? Promise.reject(error) : Promise.resolve(`preferred answer ${x}`);
    },
    (x: number) => {
      calls.push(`fallback ${x}`);
      const error = fallbackFails();
      return error ? Promise.reject(error) : Promise.resolve(`fallback answer ${x}`);
    },
    {
      pauseMs: 30_000,
      clock: { now: () => t, monotonic: () => t },
      onPreferredFailed: (error) => reports.push(error),
    },
  );
  return { call, calls, reports, advance: (ms: number) => (t += ms) };
}

Deno.test("while the preferred way works, the fallback is never used", async () => {
  const { call, calls, reports } = setup(() => null);
  assert.equal(await call(1), "preferred answer 1");
  assert.equal(await call(2), "preferred answer 2");
  assert.deepEqual(calls, ["preferred 1", "preferred 2"]);
  assert.equal(reports.length, 0);
});

Deno.test("a failed preferred way: the same call is answered by the fallback, and the failure reported once", async () => {
  const refused = new Error("connect ECONNREFUSED");
  const { call, calls, reports } = setup(() => refused);
  assert.equal(await call(1), "fallback answer 1");
  assert.deepEqual(calls, ["preferred 1", "fallback 1"]);
  assert.deepEqual(reports, [refused]);
});

Deno.test("any failure falls back, not only a refused connection (a pooler without prepared statements, a missing grant)", async () => {
  for (const message of ["prepared statement does not exist", "permission denied for function"]) {
    const { call } = setup(() => new Error(message));
    assert.equal(await call(1), "fallback answer 1", message);
  }
});

Deno.test("during the pause calls go straight to the fallback; after it the preferred way is tried again", async () => {
  let down = true;
  const { call, calls, reports, advance } = setup(() =>
    down ? new Error("too many clients") : null
  );
  await call(1);
  advance(29_999);
  assert.equal(await call(2), "fallback answer 2");
  assert.deepEqual(
    calls,
    ["preferred 1", "fallback 1", "fallback 2"],
    "not asked during the pause",
  );
  down = false;
  advance(1);
  assert.equal(await call(3), "preferred answer 3");
  assert.equal(reports.length, 1);
});

Deno.test("still failing after the pause: one more attempt, reported again, and a new pause", async () => {
  const { call, calls, reports, advance } = setup(() => new Error("refused"));
  await call(1);
  advance(30_000);
  assert.equal(await call(2), "fallback answer 2");
  advance(10_000);
  await call(3);
  assert.deepEqual(calls, ["preferred 1", "fallback 1", "preferred 2", "fallback 2", "fallback 3"]);
  assert.equal(reports.length, 2);
});

Deno.test("calls under way when the preferred way went down fall back too, with one report", async () => {
  const pending: ((error: Error) => void)[] = [];
  const reports: unknown[] = [];
  const call = withFallback(
    (_x: number) => new Promise<string>((_, reject) => pending.push(reject)),
    (x: number) => Promise.resolve(`fallback answer ${x}`),
    {
      pauseMs: 1000,
      clock: { now: () => 0, monotonic: () => 0 },
      onPreferredFailed: (error) => reports.push(error),
    },
  );
  const answers = [call(1), call(2)];
  for (const reject of pending) reject(new Error("connection closed"));
  assert.deepEqual(await Promise.all(answers), ["fallback answer 1", "fallback answer 2"]);
  assert.equal(reports.length, 1);
});

Deno.test("when the fallback fails too, the call fails with the fallback's error", async () => {
  const { call } = setup(
    () => new Error("refused"),
    () => new Error("notifications must be a JSON array"),
  );
  await assert.rejects(call(1), /must be a JSON array/);
});
