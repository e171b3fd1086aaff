import assert from "node:assert/strict";
import {
  GoogleApiError,
  GoogleCalendarClient,
  type GoogleCalendarClientOptions,
  ReauthRequiredError,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";
import { type FakeGoogle, fakeTimers, googleError, startFakeGoogle } from "./_fake_google.ts";

function client(g: FakeGoogle, extra: Partial<GoogleCalendarClientOptions> = {}) {
  const t = fakeTimers(0.5);
  let now = 1_000_000;
  const c = new GoogleCalendarClient({
    config: g.config,
    refreshToken: "RT",
    clock: { now: () => now, monotonic: () => now },
    sleep: t.sleep,
    random: t.random,
    ...extra,
  });
  return { c, t, advance: (ms: number) => now += ms, now: () => now };
}

async function withFake(fn: (g: FakeGoogle) => Promise<void>, prefix?: string) {
  const g = startFakeGoogle({ prefix });
  try {
    await fn(g);
  } finally {
    await g.close();
  }
}

Deno.test("client: lazy refresh, bearer header, path encoding, rootUrl with a path prefix", () =>
  withFake(async (g) => {
    const { c } = client(g);
    assert.equal(g.requests.length, 0, "no token request before the first call");
    await c.listEvents("user@example.com", { maxResults: 10 });
    const [tok, api] = g.requests;
    assert.equal(tok.path, "/token");
    assert.equal(api.path, "/google/calendar/v3/calendars/user%40example.com/events");
    assert.equal(api.headers.get("authorization"), "Bearer AT1");
    assert.equal(api.query.get("maxResults"), "10");
    assert.deepEqual(c.counters, {
      requests: 1,
      byOperation: { listEvents: 1 },
      tokenRefreshes: 1,
      retries: 0,
      unauthorizedRetries: 0,
    });
  }, "/google"));

Deno.test("client: expiry-driven refresh ~60 s before expiresAt; cache hooks", () =>
  withFake(async (g) => {
    const granted: string[] = [];
    const { c, advance } = client(g, {
      onAccessToken: (grant) => {
        granted.push(grant.accessToken);
      },
    });
    await c.listEvents("primary");
    advance(3599_000 - 61_000); // still > 60 s left
    await c.listEvents("primary");
    assert.equal(g.tokenRequests().length, 1);
    advance(2_000); // now < 60 s left
    await c.listEvents("primary");
    assert.equal(g.tokenRequests().length, 2);
    assert.deepEqual(granted, ["AT1", "AT2"]);
    assert.equal(g.apiRequests().at(-1)!.headers.get("authorization"), "Bearer AT2");

    // A fresh cached token is used without any token request.
    const cached = client(g, {
      getCachedAccessToken: () => ({ accessToken: "CACHED", expiresAt: 1_000_000 + 600_000 }),
    });
    await cached.c.listEvents("primary");
    assert.equal(g.tokenRequests().length, 2);
    assert.equal(g.apiRequests().at(-1)!.headers.get("authorization"), "Bearer CACHED");
  }));

Deno.test("client: 401 → exactly one forced refresh and one retry", () =>
  withFake(async (g) => {
    g.setApi((req) =>
      req.headers.get("authorization") === "Bearer AT1"
        ? googleError(401, "authError", "Invalid Credentials")
        : Response.json({ items: [{ id: "e1" }], nextSyncToken: "S" })
    );
    const { c } = client(g);
    const page = await c.listEvents("primary");
    assert.equal(page.items[0].id, "e1");
    assert.equal(g.tokenRequests().length, 2);
    assert.equal(g.apiRequests().length, 2);
    assert.equal(c.counters.unauthorizedRetries, 1);

    // A second 401 after the forced refresh is thrown, not looped.
    g.setApi(() => googleError(401, "authError"));
    const err = await c.listEvents("primary").catch((e) => e);
    assert.ok(err instanceof GoogleApiError);
    assert.equal(err.kind, "unauthorized");
    assert.equal(g.tokenRequests().length, 3);
    assert.equal(g.apiRequests().length, 4);
  }));

Deno.test("client: invalid_grant during refresh → ReauthRequiredError, no API call", () =>
  withFake(async (g) => {
    g.setToken(() => Response.json({ error: "invalid_grant" }, { status: 400 }));
    const { c, t } = client(g);
    await assert.rejects(c.listEvents("primary"), ReauthRequiredError);
    assert.equal(g.apiRequests().length, 0);
    assert.equal(g.tokenRequests().length, 1);
    assert.deepEqual(t.sleeps, []);
  }));

for (
  const [label, respond] of [
    ["503", () => new Response("unavailable", { status: 503 })],
    ["429", () => googleError(429, "rateLimitExceeded")],
    ["403 rateLimitExceeded", () => googleError(403, "rateLimitExceeded", "Rate Limit Exceeded")],
  ] as const
) {
  Deno.test(`client: ${label} retried with jittered capped backoff, then success`, () =>
    withFake(async (g) => {
      let n = 0;
      g.setApi(() => ++n <= 3 ? respond() : Response.json({ items: [], nextSyncToken: "S" }));
      const { c, t } = client(g, { backoff: { baseDelayMs: 1000, maxDelayMs: 3000 } });
      await c.listEvents("primary");
      assert.equal(g.apiRequests().length, 4);
      assert.equal(g.tokenRequests().length, 1, "rate limits must not trigger token refreshes");
      assert.deepEqual(t.sleeps, [500, 1000, 1500]); // 0.5 × min(3000, 1000·2^n)
      assert.equal(c.counters.retries, 3);
      assert.equal(c.counters.requests, 4);
    }));
}

Deno.test("client: 400 and 404 are not retried", () =>
  withFake(async (g) => {
    const { c, t } = client(g);
    g.setApi(() => googleError(400, "timeRangeEmpty"));
    const e400 = await c.listEvents("primary").catch((e) => e);
    assert.equal(e400.kind, "permanent");
    assert.equal(e400.reason, "timeRangeEmpty");
    g.setApi(() => googleError(404, "notFound"));
    const e404 = await c.patchEvent("primary", "x", { summary: "y" }).catch((e) => e);
    assert.equal(e404.kind, "not_found");
    assert.equal(g.apiRequests().length, 2);
    assert.deepEqual(t.sleeps, []);
  }));

Deno.test("client: retries give up after maxAttempts with the classified error", () =>
  withFake(async (g) => {
    g.setApi(() => googleError(500, "backendError"));
    const { c, t } = client(g);
    const err = await c.listEvents("primary").catch((e) => e);
    assert.equal(err.kind, "server");
    assert.equal(g.apiRequests().length, 5);
    assert.equal(t.sleeps.length, 4);
  }));

Deno.test("client: watchEvents body, expiration parsed from numeric string or number", () =>
  withFake(async (g) => {
    let expiration: unknown = "1767225600000";
    g.setApi((req) => {
      assert.equal(req.method, "POST");
      assert.equal(req.path, "/calendar/v3/calendars/primary/events/watch");
      const b = JSON.parse(req.body);
      assert.deepEqual(b, {
        id: "chan-1",
        type: "web_hook",
        address: "https://fn.example/hook",
        token: "tok",
        params: { ttl: "604800" },
      });
      return Response.json({
        kind: "api#channel",
        id: b.id,
        resourceId: "res-1",
        resourceUri: "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        token: b.token,
        expiration,
      });
    });
    const { c } = client(g);
    const req = {
      id: "chan-1",
      address: "https://fn.example/hook",
      token: "tok",
      ttlSeconds: 604800,
    };
    const ch = await c.watchEvents("primary", req);
    assert.deepEqual(ch, {
      id: "chan-1",
      resourceId: "res-1",
      resourceUri: "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
      expiration: 1767225600000,
    });
    expiration = 1767225600001;
    assert.equal((await c.watchEvents("primary", req)).expiration, 1767225600001);
  }));

Deno.test("client: stopChannel (204 / 404), deleteEvent (204 / 410 deleted), insert, patch", () =>
  withFake(async (g) => {
    const { c } = client(g);
    g.setApi((req) => {
      assert.equal(req.path, "/calendar/v3/channels/stop");
      assert.deepEqual(JSON.parse(req.body), { id: "c1", resourceId: "r1" });
      return new Response(null, { status: 204 });
    });
    assert.deepEqual(await c.stopChannel("c1", "r1"), { alreadyStopped: false });
    g.setApi(() => googleError(404, "notFound"));
    assert.deepEqual(await c.stopChannel("c1", "r1"), { alreadyStopped: true });

    g.setApi((req) => {
      assert.equal(req.method, "DELETE");
      assert.equal(req.path, "/calendar/v3/calendars/primary/events/ev1");
      return new Response(null, { status: 204 });
    });
    assert.deepEqual(await c.deleteEvent("primary", "ev1"), { alreadyDeleted: false });
    g.setApi(() => googleError(410, "deleted", "Resource has been deleted"));
    assert.deepEqual(await c.deleteEvent("primary", "ev1"), { alreadyDeleted: true });

    g.setApi((req) => Response.json({ ...JSON.parse(req.body), id: "new", etag: '"1"' }));
    const created = await c.insertEvent("primary", { summary: "Focus" }, { sendUpdates: "none" });
    assert.equal(created.id, "new");
    assert.equal(g.apiRequests().at(-1)!.query.get("sendUpdates"), "none");
    g.setApi((req) => {
      assert.equal(req.method, "PATCH");
      return Response.json({ id: "ev1", ...JSON.parse(req.body) });
    });
    assert.equal((await c.patchEvent("primary", "ev1", { summary: "B" })).summary, "B");
  }));

Deno.test("client: insert without client id is not retried on 503 (could duplicate)", () =>
  withFake(async (g) => {
    const { c } = client(g);
    g.setApi(() => new Response("", { status: 503 }));
    await assert.rejects(c.insertEvent("primary", { summary: "x" }), GoogleApiError);
    assert.equal(g.apiRequests().length, 1);
    await assert.rejects(c.insertEvent("primary", { id: "abc123", summary: "x" }));
    assert.equal(g.apiRequests().length, 6);
  }));
