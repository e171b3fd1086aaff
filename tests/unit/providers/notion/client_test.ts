// The Notion client against the emulator: Notion-Version pinned on every request, requests
// paced to at most 3 in any second (so the documented limit is never hit), 429 and 529 waited
// out for their Retry-After, page creation never repeated after a server error, Notion's error
// bodies classified once, and a rejected internal token ending in re-authorisation.
import assert from "node:assert/strict";
import {
  NotionClient,
  RequestPacer,
} from "../../../../supabase/functions/_shared/providers/notion/client.ts";
import { classifyNotionError } from "../../../../supabase/functions/_shared/providers/notion/errors.ts";
import {
  ProviderApiError,
  ReauthRequiredError,
} from "../../../../supabase/functions/_shared/net/provider_error.ts";
import { TokenSource } from "../../../../supabase/functions/_shared/sync/token_source.ts";
import { control, notionClient, notionConfig, withEmulator, workspace } from "./_emulator.ts";

interface Counters {
  counts: Record<string, number>;
  rate_limited: Record<string, number>;
  max_requests_per_second: Record<string, number>;
}

Deno.test("the pacer hands out turns 350 ms apart and pauses for a Retry-After", async () => {
  let now = 0;
  const waits: number[] = [];
  const pacer = new RequestPacer({
    clock: { now: () => now, monotonic: () => now },
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  await Promise.all([pacer.slot(), pacer.slot(), pacer.slot()]);
  assert.deepEqual(waits, [350, 700], "the first goes at once, then one every 350 ms");
  now = 2_000;
  pacer.pauseFor(1_500);
  await pacer.slot();
  assert.deepEqual(waits.at(-1), 1_500);
});

Deno.test("one client never starts more than 3 requests in a second, so Notion never limits it", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token, { pacer: new RequestPacer() });
    const started = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => client.retrieveDatabase(ws.db)));
    const elapsed = performance.now() - started;
    const counters = await control<Counters>(emu, "/counters");
    assert.equal(counters.rate_limited[ws.bot] ?? 0, 0, "no 429");
    assert.ok(counters.max_requests_per_second[ws.bot] <= 3, JSON.stringify(counters));
    assert.ok(elapsed >= 7 * 350 - 20, `8 requests took ${Math.round(elapsed)} ms`);
    assert.equal(client.counters.rateLimited, 0);

    // Unpaced, the same burst is refused: the limit the pacer keeps under is real.
    const unpaced = notionClient(emu, ws.token, { maxAttempts: 1 });
    const answers = await Promise.allSettled(
      Array.from({ length: 12 }, () => unpaced.retrieveDatabase(ws.db)),
    );
    assert.ok(
      answers.some((a) =>
        a.status === "rejected" && a.reason instanceof ProviderApiError &&
        a.reason.kind === "rate_limited"
      ),
    );
  }, { rateLimitPerSecond: 3, rateLimitBurst: 6 }));

for (const status of [429, 529]) {
  Deno.test(`a ${status} is waited out for its Retry-After, then the request goes again`, () =>
    withEmulator(async (emu) => {
      const ws = await workspace(emu);
      await control(emu, "/faults", {
        operation: "databases.retrieve",
        status,
        retryAfterSeconds: 1,
      });
      const client = notionClient(emu, ws.token);
      const started = performance.now();
      const database = await client.retrieveDatabase(ws.db);
      assert.equal(database.id, ws.db);
      assert.ok(performance.now() - started >= 990, "waited the Retry-After second");
      assert.equal(client.counters.requests, 2);
      assert.equal(client.counters.rateLimited, 1);
    }));
}

Deno.test("every request carries Notion-Version 2025-09-03 and the bearer token", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const seen: Headers[] = [];
    const client = new NotionClient({
      config: notionConfig(emu),
      tokens: new TokenSource({
        grant: () => Promise.reject(new Error("no refresh")),
        initial: { accessToken: ws.token, expiresAt: Date.now() + 3_600_000 },
      }),
      pacer: new RequestPacer({ intervalMs: 0 }),
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        seen.push(new Headers(init?.headers));
        return fetch(input, init);
      },
    });
    await client.retrieveBotUser();
    await client.queryDataSource(ws.ds, {});
    assert.equal(seen.length, 2);
    for (const headers of seen) {
      assert.equal(headers.get("notion-version"), "2025-09-03");
      assert.equal(headers.get("authorization"), `Bearer ${ws.token}`);
    }
  }));

Deno.test("a page is created again after a rate limit, never after a server error", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token);
    await control(emu, "/faults", { operation: "pages.create", status: 503 });
    await assert.rejects(
      client.createPage(ws.ds, { Title: { title: [{ text: { content: "Focus" } }] } }),
      (error) => error instanceof ProviderApiError && error.kind === "server",
    );
    assert.equal(client.counters.requests, 1, "not repeated: it might have been created");

    await control(emu, "/faults", { operation: "pages.create", status: 429, retryAfterSeconds: 1 });
    const created = await client.createPage(ws.ds, {
      Title: { title: [{ text: { content: "Focus" } }] },
      Date: { date: { start: "2026-12-02T09:00:00Z", end: "2026-12-02T10:00:00Z" } },
    });
    assert.equal(client.counters.requests, 3);
    const updated = await client.updatePage(created.id, {
      properties: { Date: { date: { start: "2026-12-02T11:00:00Z", end: null } } },
    });
    assert.equal((updated.properties.Date.date as { start: string }).start.slice(11, 16), "11:00");
    const trashed = await client.trashPage(created.id);
    assert.equal(trashed.in_trash, true);
    const again = await client.retrievePage(created.id);
    assert.equal(again.in_trash, true, "a trashed page can still be retrieved");
    const truth = await control<{ count: number }>(emu, `/data_sources/${ws.ds}/pages`);
    assert.equal(truth.count, 0, "exactly one page was ever created, and it is in the trash");
  }));

Deno.test("a rejected internal token ends in re-authorisation (it has no refresh token)", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    await control(emu, "/tokens/revoke", { token: ws.token });
    const client = new NotionClient({
      config: notionConfig(emu),
      tokens: new TokenSource({
        grant: () => Promise.reject(new Error("never called")),
        initial: { accessToken: ws.token, expiresAt: Date.now() + 3_600_000 },
      }),
      pacer: new RequestPacer({ intervalMs: 0 }),
    });
    await assert.rejects(client.retrieveDatabase(ws.db), ReauthRequiredError);
  }));

Deno.test("Notion's error bodies are classified once", () => {
  const headers = (retryAfter?: string) =>
    new Headers(retryAfter ? { "retry-after": retryAfter } : {});
  const body = (status: number, code: string) => ({ object: "error", status, code, message: "m" });
  const kind = (status: number, code: string, retryAfter?: string) =>
    classifyNotionError(status, body(status, code), headers(retryAfter), 0);
  assert.equal(kind(401, "unauthorized").kind, "unauthorized");
  assert.equal(kind(429, "rate_limited", "3").kind, "rate_limited");
  assert.equal(kind(429, "rate_limited", "3").retryAfterMs, 3_000);
  assert.equal(kind(529, "service_overload", "2").kind, "rate_limited");
  assert.equal(kind(529, "service_overload", "2").retryAfterMs, 2_000);
  assert.equal(kind(404, "object_not_found").kind, "not_found");
  assert.equal(kind(400, "validation_error").kind, "permanent");
  assert.equal(kind(400, "validation_error").retryable, false);
  assert.equal(kind(409, "conflict_error").kind, "permanent");
  assert.equal(kind(403, "restricted_resource").kind, "permanent");
  for (const status of [500, 502, 503, 504]) assert.equal(kind(status, "x").kind, "server");
  const error = kind(400, "validation_error");
  assert.equal(error.reason, "validation_error");
  assert.equal(error.provider, "notion");
});
