// Tests for the Calendly API v2 + OAuth emulator. Each test starts its own emulator in-process on
// port 0 (environment ignored) and talks to it over HTTP like the app would.
// Run: deno test -A tests/emulators/calendly/

import assert from "node:assert/strict";
import {
  type CalendlyEmulator,
  type CalendlyEmulatorOptions,
  startCalendlyEmulator,
} from "./server.ts";

type Json = Record<string, unknown>;
// deno-lint-ignore no-explicit-any -- response bodies are read field by field
type Any = any;

const CLIENT = {
  client_id: "emulator-calendly-client-id",
  client_secret: "emulator-calendly-client-secret",
};
const BASIC = `Basic ${btoa(`${CLIENT.client_id}:${CLIENT.client_secret}`)}`;
const T0 = Date.parse("2030-01-07T09:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const hours = (n: number) => T0 + n * 3_600_000;

interface Res {
  status: number;
  body: Any;
  headers: Headers;
}

async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

class Harness {
  constructor(readonly emu: CalendlyEmulator) {}

  get url(): string {
    return this.emu.url;
  }

  ctl(path: string, body?: unknown, method = body === undefined ? "GET" : "POST"): Promise<Res> {
    return call(`${this.url}/__emulator/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  token(params: Record<string, string>, headers: Record<string, string> = {}): Promise<Res> {
    return call(`${this.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(params),
    });
  }

  /** Create the user and exchange its refresh token; returns the user and tokens. */
  async login(email = "host@example.com", extra: Json = {}) {
    const user = await this.ctl("users", { email, ...extra });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const tok = await this.token({
      grant_type: "refresh_token",
      refresh_token: user.body.refresh_token,
    }, { authorization: BASIC });
    assert.equal(tok.status, 200, JSON.stringify(tok.body));
    return {
      uri: user.body.uri as string,
      org: user.body.organization as string,
      at: tok.body.access_token as string,
      rt: tok.body.refresh_token as string,
    };
  }

  /** Calendly API call; `path` is relative to the emulator or an absolute resource URI. */
  api(at: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<Res> {
    return call(path.startsWith("http") ? path : `${this.url}${path}`, {
      method: init.method ?? (init.body === undefined ? "GET" : "POST"),
      headers: { authorization: `Bearer ${at}`, "content-type": "application/json" },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }

  list(at: string, query: Record<string, string>): Promise<Res> {
    return this.api(at, `/scheduled_events?${new URLSearchParams(query)}`);
  }

  subscribe(at: string, body: Json): Promise<Res> {
    return this.api(at, "/webhook_subscriptions", { body });
  }

  book(body: Json): Promise<Res> {
    return this.ctl("bookings", body);
  }
}

async function withEmulator(
  fn: (h: Harness) => Promise<void>,
  options: CalendlyEmulatorOptions = {},
): Promise<void> {
  const emu = await startCalendlyEmulator({ useEnv: false, ...options });
  try {
    await fn(new Harness(emu));
  } finally {
    await emu.close();
  }
}

interface Received {
  url: string;
  headers: Headers;
  body: string;
}

/** A local webhook receiver; `respond(n)` picks the status of the n-th request (1-based). */
function startReceiver(respond: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ url: req.url, headers: req.headers, body: await req.text() });
    return new Response(null, { status: respond(received.length) });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/calendly`,
    received,
    close: () => server.shutdown(),
  };
}

/** Verify a Calendly-Webhook-Signature header the documented way, with Web Crypto. */
async function verifySignature(header: string, body: string, key: string): Promise<number> {
  const parts = Object.fromEntries(header.split(",").map((kv) => kv.split("=")));
  assert.ok(parts.t && parts.v1, `malformed signature header ${header}`);
  const k = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(`${parts.t}.${body}`));
  const hex = Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(parts.v1, hex, "signature does not verify");
  return Number(parts.t);
}

/** Host with an org-scoped subscription pointing at `receiverUrl`. */
async function hostWithHook(h: Harness, receiverUrl: string, extra: Json = {}) {
  const host = await h.login();
  const sub = await h.subscribe(host.at, {
    url: receiverUrl,
    events: ["invitee.created", "invitee.canceled"],
    organization: host.org,
    scope: "organization",
    ...extra,
  });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
  return { host, sub: sub.body.resource as Any };
}

const bodies = (r: { received: Received[] }) => r.received.map((x) => JSON.parse(x.body));

// ---- OAuth -----------------------------------------------------------------------------------

Deno.test("an authorization code is exchanged once for a token pair naming owner and organization", async () => {
  await withEmulator(async (h) => {
    const user = await h.ctl("users", { email: "ada@example.com" });
    const code = await h.ctl("auth_codes", {
      code: "code-1",
      redirect_uri: "http://localhost/cb",
      email: "ada@example.com",
    });
    assert.equal(code.status, 201);
    const params = {
      ...CLIENT,
      grant_type: "authorization_code",
      code: "code-1",
      redirect_uri: "http://localhost/cb",
    };
    const wrongUri = await h.token({ ...params, redirect_uri: "http://localhost/other" });
    assert.equal(wrongUri.status, 400);
    assert.equal(wrongUri.body.error, "invalid_grant");

    const ok = await h.token(params);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.token_type, "Bearer");
    assert.equal(ok.body.expires_in, 7200);
    assert.equal(ok.body.owner, user.body.uri);
    assert.equal(ok.body.organization, user.body.organization);
    assert.equal(typeof ok.body.refresh_token, "string");
    assert.equal(typeof ok.body.scope, "string");
    assert.ok(Math.abs(ok.body.created_at - Date.now() / 1000) < 5);

    const again = await h.token(params);
    assert.equal(again.status, 400);
    assert.equal(again.body.error, "invalid_grant");
  });
});

Deno.test("an authorization code expires after ten minutes of emulator time", async () => {
  await withEmulator(async (h) => {
    await h.ctl("users", { email: "ada@example.com" });
    await h.ctl("auth_codes", { code: "c", redirect_uri: "http://x/cb", email: "ada@example.com" });
    await h.ctl("clock", { advanceSeconds: 601 });
    const res = await h.token({
      ...CLIENT,
      grant_type: "authorization_code",
      code: "c",
      redirect_uri: "http://x/cb",
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, "invalid_grant");
  });
});

Deno.test("a used refresh token answers invalid_grant and is counted as reuse", async () => {
  await withEmulator(async (h) => {
    const user = await h.ctl("users", { email: "ada@example.com" });
    const first = await h.token({
      grant_type: "refresh_token",
      refresh_token: user.body.refresh_token,
    }, {
      authorization: BASIC,
    });
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refresh_token, user.body.refresh_token);

    const reuse = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: user.body.refresh_token,
    });
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, "invalid_grant");
    assert.equal(typeof reuse.body.error_description, "string");

    // The rotated token works exactly once too.
    const second = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: first.body.refresh_token,
    });
    assert.equal(second.status, 200);
    const unknown = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: "nope",
    });
    assert.equal(unknown.body.error, "invalid_grant");

    const counters = await h.ctl("counters");
    assert.equal(counters.body.refresh_token_reuse, 1); // the unknown token is not a reuse
    assert.equal(counters.body.counts["oauth.token"], 4);

    const badClient = await h.token({
      client_id: CLIENT.client_id,
      client_secret: "wrong",
      grant_type: "refresh_token",
      refresh_token: second.body.refresh_token,
    });
    assert.equal(badClient.status, 401);
    assert.equal(badClient.body.error, "invalid_client");
    // A refused client does not spend the refresh token.
    const still = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: second.body.refresh_token,
    });
    assert.equal(still.status, 200);
  });
});

Deno.test("token grants beyond the per-user minute limit answer 429 without spending the token", async () => {
  await withEmulator(async (h) => {
    let rt = (await h.ctl("users", { email: "ada@example.com" })).body.refresh_token;
    for (let i = 0; i < 3; i++) {
      const res = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: rt });
      assert.equal(res.status, 200);
      rt = res.body.refresh_token;
    }
    const limited = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: rt });
    assert.equal(limited.status, 429);
    await h.ctl("clock", { advanceSeconds: 61 });
    const later = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: rt });
    assert.equal(later.status, 200);
  }, { tokenGrantsPerMinute: 3 });
});

Deno.test("an access token expires by the emulator clock and a revoked one is refused", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    assert.equal((await h.api(a.at, "/users/me")).status, 200);
    await h.ctl("clock", { advanceSeconds: 7199 });
    assert.equal((await h.api(a.at, "/users/me")).status, 200);
    await h.ctl("clock", { advanceSeconds: 2 });
    const expired = await h.api(a.at, "/users/me");
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, {
      title: "Unauthenticated",
      message: "The access token is expired",
    });

    const fresh = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: a.rt });
    const at = fresh.body.access_token;
    assert.equal((await h.api(at, "/users/me")).status, 200);
    const revoke = await call(`${h.url}/oauth/revoke`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...CLIENT, token: at }),
    });
    assert.equal(revoke.status, 200);
    const revoked = await h.api(at, "/users/me");
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.message, "The access token was revoked");
    // Revoking the access token also revoked the refresh token issued with it.
    const refresh = await h.token({
      ...CLIENT,
      grant_type: "refresh_token",
      refresh_token: fresh.body.refresh_token,
    });
    assert.equal(refresh.body.error, "invalid_grant");
    assert.equal((await h.api("garbage", "/users/me")).body.message, "The access token is invalid");
  });
});

Deno.test("users/me returns the caller and its organization URI can be fetched", async () => {
  await withEmulator(async (h) => {
    const a = await h.login("grace@example.com", {
      name: "Grace Hopper",
      timezone: "Europe/Paris",
    });
    const me = await h.api(a.at, "/users/me");
    assert.equal(me.status, 200);
    const r = me.body.resource;
    assert.equal(r.uri, a.uri);
    assert.ok(r.uri.startsWith(`${h.url}/users/`));
    assert.equal(r.email, "grace@example.com");
    assert.equal(r.name, "Grace Hopper");
    assert.equal(r.timezone, "Europe/Paris");
    assert.equal(r.current_organization, a.org);
    assert.equal(typeof r.slug, "string");
    const org = await h.api(a.at, r.current_organization);
    assert.equal(org.status, 200);
    assert.equal(org.body.resource.uri, a.org);
    assert.equal((await h.api(a.at, r.uri)).body.resource.email, "grace@example.com");
  });
});

// ---- Scheduled events ------------------------------------------------------------------------

Deno.test("the scheduled events list filters by start window and status", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    await h.ctl("seed", {
      user: a.uri,
      events: [
        { start_time: iso(hours(0)), status: "active" },
        { start_time: iso(hours(1)), status: "canceled" },
        { start_time: iso(hours(2)), status: "active" },
        { start_time: iso(hours(3)), status: "active" },
      ],
    });
    const starts = (res: Res) => res.body.collection.map((e: Any) => Date.parse(e.start_time));
    const all = await h.list(a.at, { user: a.uri });
    assert.equal(all.status, 200);
    assert.deepEqual(starts(all), [hours(0), hours(1), hours(2), hours(3)]);
    const active = await h.list(a.at, { user: a.uri, status: "active" });
    assert.deepEqual(starts(active), [hours(0), hours(2), hours(3)]);
    const canceled = await h.list(a.at, { user: a.uri, status: "canceled" });
    assert.deepEqual(starts(canceled), [hours(1)]);
    assert.equal(canceled.body.collection[0].status, "canceled");
    assert.equal(canceled.body.collection[0].cancellation.canceler_type, "host");
    // min inclusive, max exclusive.
    const window = await h.list(a.at, {
      user: a.uri,
      min_start_time: iso(hours(1)),
      max_start_time: iso(hours(3)),
    });
    assert.deepEqual(starts(window), [hours(1), hours(2)]);
    const desc = await h.list(a.at, { user: a.uri, sort: "start_time:desc" });
    assert.deepEqual(starts(desc), [hours(3), hours(2), hours(1), hours(0)]);

    const ev = all.body.collection[0];
    for (
      const k of [
        "uri",
        "name",
        "status",
        "start_time",
        "end_time",
        "event_type",
        "location",
        "invitees_counter",
        "created_at",
        "updated_at",
        "event_memberships",
        "event_guests",
        "meeting_notes_plain",
        "meeting_notes_html",
        "calendar_event",
      ]
    ) assert.ok(k in ev, `event lacks ${k}`);
    assert.match(ev.start_time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.equal(ev.event_memberships[0].user, a.uri);
    assert.equal((await h.api(a.at, ev.uri)).body.resource.uri, ev.uri);
  });
});

Deno.test("count outside 1..100 is an Invalid Argument and other users' events are Permission Denied", async () => {
  await withEmulator(async (h) => {
    const a = await h.login("a@example.com");
    const b = await h.login("b@example.com");
    for (const count of ["0", "101", "ten"]) {
      const res = await h.list(a.at, { user: a.uri, count });
      assert.equal(res.status, 400, count);
      assert.equal(res.body.title, "Invalid Argument");
      assert.equal(res.body.details[0].parameter, "count");
    }
    assert.equal((await h.list(a.at, { user: a.uri, count: "100" })).status, 200);
    assert.equal((await h.list(a.at, { user: a.uri, count: "1" })).status, 200);
    assert.equal((await h.list(a.at, {})).status, 400);
    assert.equal((await h.list(a.at, { user: a.uri, status: "gone" })).status, 400);
    const other = await h.list(a.at, { user: b.uri });
    assert.equal(other.status, 403);
    assert.equal(other.body.title, "Permission Denied");
    assert.equal((await h.list(a.at, { organization: b.org })).status, 403);
    assert.equal((await h.list(a.at, { organization: a.org })).status, 200);
  });
});

Deno.test("pagination walks every event once with a stable total while events change", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    const seeded = await h.ctl("seed", {
      user: a.uri,
      count: 250,
      from: iso(T0),
      spacing_minutes: 60,
      duration_minutes: 30,
      canceled_every: 10,
    });
    assert.equal(seeded.status, 201);
    assert.equal(seeded.body.created, 250);

    const seen: string[] = [];
    let next: string | null = `${h.url}/scheduled_events?${new URLSearchParams({
      user: a.uri,
      count: "100",
    })}`;
    let pages = 0;
    let firstPage: Res | undefined;
    while (next) {
      const res: Res = await h.api(a.at, next);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      firstPage ??= res;
      pages++;
      seen.push(...res.body.collection.map((e: Any) => e.uri));
      assert.equal(res.body.pagination.count, res.body.collection.length);
      next = res.body.pagination.next_page;
      if (next) {
        assert.equal(
          new URL(next).searchParams.get("page_token"),
          res.body.pagination.next_page_token,
        );
      }
      if (pages === 1) {
        // Changes during paging: a new event before the cursor, one cancellation after it.
        await h.book({
          user: a.uri,
          start_time: iso(T0 - 3_600_000),
          invitee: { email: "late@example.com" },
        });
        const later = res.body.collection.at(-1);
        const truth = await h.ctl(`scheduled_events?user=${encodeURIComponent(a.uri)}`);
        const victim = truth.body.collection.find((e: Any) =>
          Date.parse(e.start_time) > Date.parse(later.start_time) && e.status === "active"
        );
        await h.ctl("scheduled_events/cancel", { event: victim.uri });
      }
    }
    assert.equal(pages, 3);
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen).size, 250);
    assert.equal(firstPage!.body.pagination.previous_page, null);

    // previous_page leads back to the page before.
    const p2 = await h.api(a.at, firstPage!.body.pagination.next_page);
    const back = await h.api(a.at, p2.body.pagination.previous_page);
    assert.deepEqual(back.body.collection.map((e: Any) => e.uri), seen.slice(0, 100));
    assert.equal(back.body.pagination.previous_page_token !== null, true); // the booked event

    const bad = await h.list(a.at, { user: a.uri, page_token: "!!" });
    assert.equal(bad.status, 400);
    const counters = await h.ctl("counters");
    assert.equal(counters.body.items_returned["scheduled_events.list"], 250 + 200);
  });
});

Deno.test("a group event stays active until its last invitee cancels", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, rx.url);
      const first = await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        max_invitees: 3,
        invitee: { email: "one@example.com", name: "One" },
        wait: true,
      });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const eventUri = first.body.event.uri;
      const second = await h.book({
        event: eventUri,
        invitee: { email: "two@example.com" },
        wait: true,
      });
      assert.equal(second.body.event.uri, eventUri);
      assert.deepEqual(second.body.event.invitees_counter, { total: 2, active: 2, limit: 3 });

      const cancel1 = await h.ctl("invitees/cancel", {
        invitee: first.body.invitee.uri,
        reason: "cannot make it",
        wait: true,
      });
      assert.equal(cancel1.status, 200);
      const ev1 = await h.api(host.at, eventUri);
      assert.equal(ev1.body.resource.status, "active");
      assert.deepEqual(ev1.body.resource.invitees_counter, { total: 2, active: 1, limit: 3 });
      const payload1 = bodies(rx).at(-1);
      assert.equal(payload1.event, "invitee.canceled");
      assert.equal(payload1.payload.status, "canceled");
      assert.equal(payload1.payload.rescheduled, false);
      assert.equal(payload1.payload.cancellation.canceler_type, "invitee");
      assert.equal(payload1.payload.cancellation.reason, "cannot make it");
      assert.equal(payload1.payload.scheduled_event.status, "active"); // Calendly's own example

      await h.ctl("invitees/cancel", { invitee: second.body.invitee.uri, wait: true });
      const ev2 = (await h.api(host.at, eventUri)).body.resource;
      assert.equal(ev2.status, "canceled");
      assert.equal(ev2.invitees_counter.active, 0);
      assert.equal(ev2.cancellation.canceler_type, "invitee");
      assert.equal(bodies(rx).at(-1).payload.scheduled_event.status, "canceled");

      const invitees = await h.api(host.at, `${eventUri}/invitees?status=canceled`);
      assert.equal(invitees.body.collection.length, 2);
      const one = await h.api(host.at, first.body.invitee.uri);
      assert.equal(one.body.resource.email, "one@example.com");
      assert.equal(one.body.resource.event, eventUri);
      // A full group event refuses one more invitee.
      const solo = await h.book({
        user: host.uri,
        start_time: iso(hours(5)),
        invitee: { email: "x@e.com" },
      });
      const full = await h.book({ event: solo.body.event.uri, invitee: { email: "y@e.com" } });
      assert.equal(full.status, 409);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a host cancellation cancels every active invitee with one message each", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, rx.url);
      const a = await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        max_invitees: 2,
        invitee: { email: "a@example.com" },
      });
      await h.book({ event: a.body.event.uri, invitee: { email: "b@example.com" } });
      await h.emu.flushDeliveries();
      rx.received.length = 0;
      const res = await h.api(host.at, `${a.body.event.uri}/cancellation`, {
        body: { reason: "host sick" },
      });
      assert.equal(res.status, 201);
      assert.equal(res.body.resource.canceler_type, "host");
      await h.emu.flushDeliveries();
      const msgs = bodies(rx);
      assert.equal(msgs.length, 2);
      for (const m of msgs) {
        assert.equal(m.event, "invitee.canceled");
        assert.equal(m.payload.cancellation.canceler_type, "host");
        assert.equal(m.payload.cancellation.reason, "host sick");
        assert.equal(m.payload.scheduled_event.status, "canceled");
      }
      assert.deepEqual(msgs.map((m) => m.payload.email).sort(), ["a@example.com", "b@example.com"]);
      const again = await h.ctl("scheduled_events/cancel", { event: a.body.event.uri });
      assert.equal(again.status, 409);
    });
  } finally {
    await rx.close();
  }
});

// ---- Webhooks --------------------------------------------------------------------------------

Deno.test("a reschedule delivers canceled then created, or created first when asked", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, rx.url);
      for (const order of ["canceled_first", "created_first"]) {
        rx.received.length = 0;
        const booked = await h.book({
          user: host.uri,
          start_time: iso(hours(order === "canceled_first" ? 1 : 10)),
          duration_minutes: 45,
          invitee: { email: "mover@example.com", name: "Mover" },
          wait: true,
        });
        rx.received.length = 0;
        const res = await h.ctl("reschedule", {
          invitee: booked.body.invitee.uri,
          start_time: iso(hours(order === "canceled_first" ? 2 : 11)),
          order,
          wait: true,
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const { old_invitee: oldInv, invitee: newInv, old_event: oldEv, event: newEv } = res.body;
        assert.notEqual(newEv.uri, oldEv.uri);
        assert.notEqual(newInv.uri, oldInv.uri);
        assert.equal(oldInv.status, "canceled");
        assert.equal(oldInv.rescheduled, true);
        assert.equal(oldInv.new_invitee, newInv.uri);
        assert.equal(newInv.old_invitee, oldInv.uri);
        assert.equal(newInv.rescheduled, false);
        assert.equal(oldEv.status, "canceled");
        assert.equal(Date.parse(newEv.end_time) - Date.parse(newEv.start_time), 45 * 60_000);

        const msgs = bodies(rx);
        const expected = order === "canceled_first"
          ? ["invitee.canceled", "invitee.created"]
          : ["invitee.created", "invitee.canceled"];
        assert.deepEqual(msgs.map((m) => m.event), expected);
        const canceled = msgs.find((m) => m.event === "invitee.canceled");
        const created = msgs.find((m) => m.event === "invitee.created");
        assert.equal(canceled.payload.rescheduled, true);
        assert.equal(canceled.payload.new_invitee, newInv.uri);
        assert.equal(canceled.payload.event, oldEv.uri);
        assert.equal(created.payload.old_invitee, oldInv.uri);
        assert.equal(created.payload.event, newEv.uri);
        assert.equal(created.payload.scheduled_event.uri, newEv.uri);
      }
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a delivery is signed over t.body with the subscription key, or the app key without one", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const { host, sub } = await hostWithHook(h, rx.url, { signing_key: "own-secret" });
      assert.equal("signing_key" in sub, false);
      const userSub = await h.subscribe(host.at, {
        url: `${rx.url}?user`,
        events: ["invitee.created"],
        organization: host.org,
        user: host.uri,
        scope: "user",
      });
      assert.equal(userSub.status, 201);
      await h.ctl("clock", { set: iso(T0), freeze: true });
      const booked = await h.book({
        user: host.uri,
        start_time: iso(hours(3)),
        invitee: { email: "sig@example.com", name: "Sig Nature" },
        wait: true,
      });
      assert.equal(booked.body.deliveries.length, 2);
      assert.equal(rx.received.length, 2);
      for (const r of rx.received) {
        assert.equal(r.headers.get("content-type"), "application/json");
        // The org subscription has its own key; the user one (?user) uses the app's key.
        const key = r.url.endsWith("?user") ? "emulator-calendly-app-signing-key" : "own-secret";
        const t = await verifySignature(r.headers.get("calendly-webhook-signature")!, r.body, key);
        assert.equal(t, Math.floor(T0 / 1000));
        const env = JSON.parse(r.body);
        assert.equal(env.event, "invitee.created");
        assert.equal(env.created_by, host.uri);
        assert.equal(env.payload.email, "sig@example.com");
        assert.equal(typeof env.payload.event, "string");
        assert.equal(env.payload.scheduled_event.uri, env.payload.event);
        assert.equal(env.payload.scheduled_event.event_memberships[0].user, host.uri);
        for (const k of ["cancel_url", "reschedule_url", "tracking", "questions_and_answers"]) {
          assert.ok(k in env.payload, `payload lacks ${k}`);
        }
      }
      // A configured skew moves t.
      await h.ctl("config", { signatureSkewSeconds: -400 });
      await h.book({
        user: host.uri,
        start_time: iso(hours(4)),
        invitee: { email: "s@e.com" },
        wait: true,
      });
      const last = rx.received.at(-1)!;
      const t = Number(/t=(\d+)/.exec(last.headers.get("calendly-webhook-signature")!)![1]);
      assert.equal(t, Math.floor(T0 / 1000) - 400);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a delivery answered 500 is retried with the same body and then delivered", async () => {
  const rx = startReceiver((n) => (n === 1 ? 500 : 200));
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, rx.url);
      const res = await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        invitee: { email: "r@example.com" },
      });
      assert.equal(res.body.deliveries[0].outcome, "pending");
      await h.emu.flushDeliveries();
      const log = (await h.ctl("deliveries")).body.deliveries;
      assert.equal(log.length, 1);
      assert.equal(log[0].outcome, "delivered");
      assert.deepEqual(log[0].attempts.map((a: Any) => a.status), [500, 200]);
      assert.equal(rx.received.length, 2);
      assert.equal(rx.received[0].body, rx.received[1].body);
      const subs = (await h.ctl("subscriptions")).body.subscriptions;
      assert.equal(subs[0].state, "active");
      assert.equal(subs[0].retry_started_at, null);
      assert.equal(subs[0].consecutive_failures, 0);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a receiver slower than deliveryTimeoutMs counts as a failed attempt", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    await new Promise((r) => setTimeout(r, 150));
    return new Response("late");
  });
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, `http://127.0.0.1:${server.addr.port}/slow`);
      const res = await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        invitee: { email: "slow@example.com" },
        wait: true,
      });
      const [d] = res.body.deliveries;
      assert.equal(d.outcome, "failed");
      assert.deepEqual(d.attempts.map((a: Any) => a.error), ["timeout"]);
      assert.equal((await h.ctl("subscriptions")).body.subscriptions[0].consecutive_failures, 1);
    }, { deliveryTimeoutMs: 40, retryAttempts: 1 });
  } finally {
    await server.shutdown();
  }
});

Deno.test("a subscription is disabled after three failed deliveries and then receives nothing", async () => {
  const rx = startReceiver(() => 302);
  try {
    await withEmulator(async (h) => {
      const { host, sub } = await hostWithHook(h, rx.url);
      for (let i = 0; i < 3; i++) {
        const res = await h.book({
          user: host.uri,
          start_time: iso(hours(i)),
          invitee: { email: `f${i}@example.com` },
          wait: true,
        });
        assert.equal(res.body.deliveries[0].outcome, "failed");
        assert.equal(res.body.deliveries[0].attempts.length, 2);
      }
      const got = await h.api(host.at, sub.uri);
      assert.equal(got.body.resource.state, "disabled");
      assert.notEqual(got.body.resource.retry_started_at, null);
      const before = rx.received.length;
      const res = await h.book({
        user: host.uri,
        start_time: iso(hours(9)),
        invitee: { email: "ignored@example.com" },
        wait: true,
      });
      assert.deepEqual(res.body.deliveries, []);
      assert.equal(rx.received.length, before);
      // The disabled hook still owns its url: recreating needs a delete first.
      const dup = await h.subscribe(host.at, {
        url: rx.url,
        events: ["invitee.created"],
        organization: host.org,
        scope: "organization",
      });
      assert.equal(dup.status, 409);
      assert.equal((await h.api(host.at, sub.uri, { method: "DELETE" })).status, 204);
      assert.equal((await h.api(host.at, sub.uri)).status, 404);
    }, { retryAttempts: 2, retryBaseMs: 5 });
  } finally {
    await rx.close();
  }
});

Deno.test("a subscription whose failures started 24 hours ago is disabled", async () => {
  const rx = startReceiver(() => 503);
  try {
    await withEmulator(async (h) => {
      const { host, sub } = await hostWithHook(h, rx.url);
      await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        invitee: { email: "x@e.com" },
        wait: true,
      });
      const failing = await h.api(host.at, sub.uri);
      assert.equal(failing.body.resource.state, "active");
      assert.notEqual(failing.body.resource.retry_started_at, null);
      await h.ctl("clock", { advanceSeconds: 23 * 3600 });
      assert.equal((await h.ctl("subscriptions")).body.subscriptions[0].state, "active");
      await h.ctl("clock", { advanceSeconds: 3600 });
      // (The access token has expired by now; the control API shows the subscription.)
      const [disabled] = (await h.ctl("subscriptions")).body.subscriptions;
      assert.equal(disabled.uri, sub.uri);
      assert.equal(disabled.state, "disabled");
      assert.equal(disabled.retry_started_at, failing.body.resource.retry_started_at);
    }, { retryAttempts: 1 });
  } finally {
    await rx.close();
  }
});

Deno.test("a redelivery sends the same body and signature five times at once", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    received.push({ url: req.url, headers: req.headers, body: await req.text() });
    await new Promise((r) => setTimeout(r, 40));
    inFlight--;
    return new Response("ok");
  });
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, `http://127.0.0.1:${server.addr.port}/hook`);
      await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        invitee: { email: "d@e.com" },
        wait: true,
      });
      const red = await h.ctl("deliveries/0/redeliver", { times: 5, concurrent: true });
      assert.equal(red.status, 200, JSON.stringify(red.body));
      assert.equal(red.body.deliveries.length, 5);
      assert.equal(received.length, 6);
      assert.equal(new Set(received.map((r) => r.body)).size, 1);
      assert.equal(
        new Set(received.map((r) => r.headers.get("calendly-webhook-signature"))).size,
        1,
      );
      assert.ok(maxInFlight >= 5, `max in flight ${maxInFlight}`);
      for (const d of red.body.deliveries) {
        assert.equal(d.redelivery_of, 0);
        assert.equal(d.outcome, "delivered");
      }
      // resign: new t, same body.
      await h.ctl("clock", { advanceSeconds: 120 });
      await h.ctl("deliveries/0/redeliver", { resign: true });
      const last = received.at(-1)!;
      assert.equal(last.body, received[0].body);
      assert.notEqual(
        last.headers.get("calendly-webhook-signature"),
        received[0].headers.get("calendly-webhook-signature"),
      );
      await verifySignature(
        last.headers.get("calendly-webhook-signature")!,
        last.body,
        "emulator-calendly-app-signing-key",
      );
      assert.equal((await h.ctl("deliveries/99/redeliver", {})).status, 404);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("dropped deliveries are logged and never sent", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const { host } = await hostWithHook(h, rx.url);
      assert.equal((await h.ctl("drops", { next: 1 })).status, 200);
      const res = await h.book({
        user: host.uri,
        start_time: iso(hours(1)),
        invitee: { email: "a@e.com" },
        wait: true,
      });
      assert.equal(res.body.deliveries[0].outcome, "dropped");
      assert.equal(rx.received.length, 0);
      await h.book({
        user: host.uri,
        start_time: iso(hours(2)),
        invitee: { email: "b@e.com" },
        wait: true,
      });
      assert.equal(rx.received.length, 1);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("a duplicate callback url for the same owner answers 409 Already Exists", async () => {
  await withEmulator(async (h) => {
    const host = await h.login();
    const body = {
      url: "https://example.com/hook",
      events: ["invitee.created"],
      organization: host.org,
      scope: "user",
      user: host.uri,
    };
    const first = await h.subscribe(host.at, body);
    assert.equal(first.status, 201);
    assert.equal(first.headers.get("location"), first.body.resource.uri);
    const r = first.body.resource;
    assert.equal(r.callback_url, "https://example.com/hook");
    assert.equal(r.state, "active");
    assert.equal(r.retry_started_at, null);
    assert.equal(r.creator, host.uri);
    assert.equal(r.user, host.uri);
    const dup = await h.subscribe(host.at, body);
    assert.equal(dup.status, 409);
    assert.deepEqual(dup.body, {
      title: "Already Exists",
      message: "Hook with this url already exists",
    });
    // Another owner (organization scope) may use the same url.
    assert.equal(
      (await h.subscribe(host.at, { ...body, scope: "organization", user: undefined })).status,
      201,
    );

    const invalid = await h.subscribe(host.at, {
      url: "ftp://x",
      events: ["invitee.nope"],
      scope: "user",
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.body.title, "Invalid Argument");
    assert.deepEqual(
      invalid.body.details.map((d: Any) => d.parameter).sort(),
      ["events", "organization", "url", "user"],
    );

    const list = await h.api(
      host.at,
      `/webhook_subscriptions?${new URLSearchParams({
        organization: host.org,
        scope: "user",
        user: host.uri,
      })}`,
    );
    assert.equal(list.status, 200);
    assert.equal(list.body.collection.length, 1);
    assert.equal(list.body.pagination.next_page, null);
    assert.equal((await h.api(host.at, `/webhook_subscriptions?scope=user`)).status, 400);
  });
});

// ---- Limits, faults, counters ----------------------------------------------------------------

Deno.test("every API response carries rate-limit headers and the limit answers 429", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    const first = await h.api(a.at, "/users/me");
    assert.equal(first.headers.get("x-ratelimit-limit"), "3");
    assert.equal(first.headers.get("x-ratelimit-remaining"), "2");
    assert.ok(Number(first.headers.get("x-ratelimit-reset")) > 0);
    const notFound = await h.api(a.at, "/scheduled_events/00000000-0000-0000-0000-000000000000");
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get("x-ratelimit-remaining"), "1");
    const unauth = await h.api("bad", "/users/me");
    assert.equal(unauth.status, 401);
    assert.ok(unauth.headers.has("x-ratelimit-limit"));
    await h.api(a.at, "/users/me");
    const limited = await h.api(a.at, "/users/me");
    assert.equal(limited.status, 429);
    assert.equal(limited.body.title, "Too Many Requests");
    assert.equal(limited.headers.get("x-ratelimit-remaining"), "0");
    await h.ctl("clock", { advanceSeconds: 60 });
    assert.equal((await h.api(a.at, "/users/me")).status, 200);
  }, { rateLimitPerMinute: 3 });
});

Deno.test("a fault rule fails matching requests before authentication and then disappears", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    await h.ctl("faults", {
      operation: "scheduled_events.list",
      status: 429,
      skip: 1,
      times: 2,
      rateLimitResetSeconds: 7,
    });
    assert.equal((await h.list(a.at, { user: a.uri })).status, 200); // skipped
    const f1 = await h.list("not-even-a-token", { user: a.uri });
    assert.equal(f1.status, 429);
    assert.equal(f1.body.title, "Too Many Requests");
    assert.equal(f1.headers.get("x-ratelimit-reset"), "7");
    assert.equal(f1.headers.get("x-ratelimit-remaining"), "0");
    assert.equal((await h.list(a.at, { user: a.uri })).status, 429);
    assert.equal((await h.list(a.at, { user: a.uri })).status, 200);
    assert.deepEqual((await h.ctl("faults")).body.rules, []);

    await h.ctl("faults", { path: "/oauth/token", status: 503 });
    const tok = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: a.rt });
    assert.equal(tok.status, 503);
    assert.equal(typeof tok.body.error, "string");
    // The faulted grant did not spend the refresh token.
    const ok = await h.token({ ...CLIENT, grant_type: "refresh_token", refresh_token: a.rt });
    assert.equal(ok.status, 200);
    assert.equal((await h.ctl("faults", { status: 200 })).status, 400);
  });
});

Deno.test("counters report requests per operation, items returned and in-flight peaks", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    await h.ctl("seed", { user: a.uri, count: 30, from: iso(T0) });
    await h.ctl("counters/reset", {});
    await h.ctl("latency", { ms: 30 });
    await Promise.all([
      h.list(a.at, { user: a.uri, count: "25" }),
      h.list(a.at, { user: a.uri, count: "10" }),
      h.list(a.at, { user: a.uri, min_start_time: iso(hours(28)) }),
    ]);
    await h.ctl("latency", { ms: 0 });
    await h.api(a.at, "/users/me");
    const c = (await h.ctl("counters")).body;
    assert.equal(c.counts["scheduled_events.list"], 3);
    assert.equal(c.counts["users.me"], 1);
    assert.equal(c.items_returned["scheduled_events.list"], 25 + 10 + 2);
    assert.equal(c.max_in_flight["scheduled_events.list"], 3);
    assert.equal(c.refresh_token_reuse, 0);
    await h.ctl("counters/reset", {});
    assert.deepEqual((await h.ctl("counters")).body.counts, {});
  });
});

Deno.test("reset wipes users, tokens, subscriptions and config", async () => {
  await withEmulator(async (h) => {
    const a = await h.login();
    await h.ctl("config", { accessTokenTtlSeconds: 60 });
    assert.equal((await h.ctl("config", { nope: 1 })).status, 400);
    await h.emu.reset();
    assert.equal((await h.api(a.at, "/users/me")).status, 401);
    assert.equal((await h.ctl("config")).body.accessTokenTtlSeconds, 7200);
    assert.deepEqual((await h.ctl("users")).body.users, []);
  });
});

Deno.test("the CLI prints its URL once listening and exits on SIGTERM", async () => {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./main.ts", import.meta.url).pathname, "--port", "0"],
    stdout: "piped",
    stderr: "inherit",
  });
  const child = cmd.spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const m = /^CALENDLY_EMULATOR_URL=(http:\/\/127\.0\.0\.1:\d+)\n$/.exec(out);
  assert.ok(m, `unexpected output ${JSON.stringify(out)}`);
  const res = await fetch(`${m[1]}/users/me`);
  assert.equal(res.status, 401);
  await res.body?.cancel();
  child.kill("SIGTERM");
  const status = await child.status;
  reader.releaseLock();
  await child.stdout.cancel().catch(() => {});
  assert.equal(status.code, 0);
});
