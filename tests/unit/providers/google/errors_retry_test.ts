import assert from "node:assert/strict";
import {
  backoffDelay,
  classifyGoogleError,
  GoogleApiError,
  GoogleConfigError,
  parseRetryAfter,
  ReauthRequiredError,
  withBackoff,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";
import { fakeTimers } from "./_fake_google.ts";

const body = (code: number, reason?: string) => ({
  error: { errors: reason ? [{ domain: "x", reason, message: reason }] : [], code, message: "m" },
});

Deno.test("classifier: status + reason table", () => {
  const cases: [number, unknown, string, boolean][] = [
    [401, body(401, "authError"), "unauthorized", false],
    [400, { error: "invalid_grant", error_description: "expired" }, "reauth_required", false],
    [401, { error: "invalid_client" }, "config", false],
    [403, body(403, "rateLimitExceeded"), "rate_limited", true],
    [403, body(403, "userRateLimitExceeded"), "rate_limited", true],
    [429, body(429, "rateLimitExceeded"), "rate_limited", true],
    [429, "", "rate_limited", true],
    [403, body(403, "quotaExceeded"), "permanent", false],
    [403, body(403, "forbiddenForNonOrganizer"), "permanent", false],
    [500, body(500, "backendError"), "server", true],
    [502, "<html>Bad Gateway</html>", "server", true],
    [503, null, "server", true],
    [504, undefined, "server", true],
    [410, body(410, "fullSyncRequired"), "full_sync_required", false],
    [410, body(410, "updatedMinTooLongAgo"), "full_sync_required", false],
    [410, body(410, "deleted"), "gone", false],
    [404, body(404, "notFound"), "not_found", false],
    [400, body(400, "timeRangeEmpty"), "permanent", false],
    [409, body(409, "duplicate"), "permanent", false],
    [412, body(412, "conditionNotMet"), "precondition_failed", false],
  ];
  for (const [status, b, kind, retryable] of cases) {
    const e = classifyGoogleError(status, b);
    assert.equal(e.kind, kind, `${status} ${JSON.stringify(b)}`);
    assert.equal(e.retryable, retryable, `${status} ${JSON.stringify(b)}`);
    assert.equal(e.status, status);
  }
  assert.ok(classifyGoogleError(400, { error: "invalid_grant" }) instanceof ReauthRequiredError);
  assert.ok(classifyGoogleError(401, { error: "invalid_client" }) instanceof GoogleConfigError);
  assert.equal(classifyGoogleError(403, body(403, "quotaExceeded")).reason, "quotaExceeded");
});

Deno.test("classifier: tolerates JSON text, extra fields, missing errors[], AIP-193 details", () => {
  const text = JSON.stringify(body(410, "fullSyncRequired"));
  assert.equal(classifyGoogleError(410, text).kind, "full_sync_required");
  const extra = {
    error: {
      code: 403,
      status: "PERMISSION_DENIED",
      errors: [{ reason: "rateLimitExceeded", extra: 1 }],
    },
    x: 2,
  };
  assert.equal(classifyGoogleError(403, extra).kind, "rate_limited");
  assert.equal(classifyGoogleError(403, { error: { code: 403 } }).kind, "permanent");
  const aip = {
    error: {
      code: 429,
      status: "RESOURCE_EXHAUSTED",
      details: [{ reason: "RATE_LIMIT_EXCEEDED" }],
    },
  };
  assert.equal(classifyGoogleError(429, aip).reason, "RATE_LIMIT_EXCEEDED");
  assert.equal(classifyGoogleError(410, "{not json").kind, "gone");
  assert.equal(classifyGoogleError(410, [1, 2]).kind, "gone");
});

Deno.test("classifier: Retry-After seconds and HTTP-date", () => {
  const e = classifyGoogleError(429, "", new Headers({ "retry-after": "7" }));
  assert.equal(e.retryAfterMs, 7000);
  assert.equal(classifyGoogleError(503, "", { "Retry-After": "2" }).retryAfterMs, 2000);
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("garbage", now), null);
  assert.equal(classifyGoogleError(503, "").retryAfterMs, null);
});

Deno.test("backoff: full jitter within a capped exponential window", () => {
  assert.equal(backoffDelay(1, 500, 30_000, () => 0.999999), 499);
  assert.equal(backoffDelay(3, 500, 30_000, () => 0.5), 1000);
  assert.equal(backoffDelay(10, 500, 30_000, () => 0.5), 15_000); // capped at 30 s window
  assert.equal(backoffDelay(4, 500, 30_000, () => 0), 0);
});

Deno.test("withBackoff: retries retryable errors, records jittered sleeps, then succeeds", async () => {
  const t = fakeTimers(0.5);
  let calls = 0;
  const result = await withBackoff(() => {
    calls++;
    if (calls < 4) return Promise.reject(classifyGoogleError(503, ""));
    return Promise.resolve("ok");
  }, { sleep: t.sleep, random: t.random });
  assert.equal(result, "ok");
  assert.equal(calls, 4);
  assert.deepEqual(t.sleeps, [250, 500, 1000]);
});

Deno.test("withBackoff: gives up after maxAttempts and rethrows the last error", async () => {
  const t = fakeTimers(1);
  let calls = 0;
  const err = await withBackoff(() => {
    calls++;
    return Promise.reject(classifyGoogleError(429, ""));
  }, { sleep: t.sleep, random: t.random, maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 4000 })
    .catch((e) => e);
  assert.ok(err instanceof GoogleApiError);
  assert.equal(calls, 5);
  assert.deepEqual(t.sleeps, [1000, 2000, 4000, 4000]);
});

Deno.test("withBackoff: permanent errors are not retried; network TypeErrors are", async () => {
  const t = fakeTimers();
  let calls = 0;
  await assert.rejects(
    withBackoff(() => {
      calls++;
      return Promise.reject(classifyGoogleError(400, body(400, "badRequest")));
    }, t),
  );
  assert.equal(calls, 1);
  calls = 0;
  await withBackoff(() => {
    calls++;
    return calls === 1
      ? Promise.reject(new TypeError("error sending request"))
      : Promise.resolve(1);
  }, t);
  assert.equal(calls, 2);
});

Deno.test("withBackoff: Retry-After is a floor; longer than maxDelayMs stops retrying", async () => {
  const t = fakeTimers(0);
  let calls = 0;
  await withBackoff(() => {
    calls++;
    return calls === 1
      ? Promise.reject(classifyGoogleError(429, "", { "retry-after": "3" }))
      : Promise.resolve(1);
  }, t);
  assert.deepEqual(t.sleeps, [3000]);
  calls = 0;
  const err = await withBackoff(() => {
    calls++;
    return Promise.reject(classifyGoogleError(429, "", { "retry-after": "120" }));
  }, { ...t, maxDelayMs: 30_000 }).catch((e) => e);
  assert.equal(calls, 1);
  assert.equal(err.retryAfterMs, 120_000);
});
