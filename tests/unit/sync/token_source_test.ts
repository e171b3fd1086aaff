// The shared token source: tokens reused until shortly before they expire, one refresh at a
// time across "processes" sharing a connection row, rotated refresh tokens stored before use,
// a rejected token never reused, invalid_grant ending in needs_reauth — against Calendly's
// emulator, whose refresh tokens are single-use.
import assert from "node:assert/strict";
import { MemoryTokenRow } from "../../../supabase/functions/_shared/sync/token_store_memory.ts";
import { ReauthRequiredError } from "../../../supabase/functions/_shared/net/provider_error.ts";
import { calendlyClient, control, withEmulator } from "../providers/calendly/_emulator.ts";

Deno.test("20 syncs with expired access tokens, some concurrent, never present a used refresh token", () =>
  withEmulator(async (emu) => {
    const user = await control<{ uri: string; refresh_token: string }>(emu, "/users", {
      email: "rotating@example.test",
    });
    await control(emu, "/config", { tokenGrantsPerMinute: 0 });
    const row = new MemoryTokenRow(user.refresh_token);
    // Four function instances, each with its own client, sharing the connection's row.
    const instances = Array.from(
      { length: 4 },
      () => calendlyClient(emu, user.refresh_token, row.store()),
    );
    await control(emu, "/counters/reset", {});
    for (let round = 0; round < 5; round++) {
      await control(emu, "/access_tokens/expire", {});
      // Four syncs at once after every expiry: 20 in all.
      await Promise.all(instances.map((client) => client.me()));
    }
    const counters = await control<{ refresh_token_reuse: number; counts: Record<string, number> }>(
      emu,
      "/counters",
    );
    assert.equal(counters.refresh_token_reuse, 0, "no used refresh token was ever presented");
    assert.equal(row.status, "active");
    assert.equal(counters.counts["oauth.token"], 5, "one refresh per expiry, shared by all");
    assert.equal(new Set(row.history).size, row.history.length, "each rotation stored a new token");
  }));

Deno.test("a token is reused until shortly before it expires, and a rejected one never again", () =>
  withEmulator(async (emu) => {
    const user = await control<{ uri: string; refresh_token: string }>(emu, "/users", {
      email: "reuse@example.test",
    });
    const row = new MemoryTokenRow(user.refresh_token);
    const client = calendlyClient(emu, user.refresh_token, row.store());
    await control(emu, "/counters/reset", {});
    for (let i = 0; i < 5; i++) await client.me();
    let counters = await control<{ counts: Record<string, number> }>(emu, "/counters");
    assert.equal(counters.counts["oauth.token"], 1, "one refresh for five calls");
    // Calendly revokes the access token early: the 401 leads to exactly one refresh and retry.
    await control(emu, "/access_tokens/expire", {});
    await client.me();
    counters = await control<{ counts: Record<string, number> }>(emu, "/counters");
    assert.equal(counters.counts["oauth.token"], 2);
    assert.equal(counters.counts["users.me"], 7, "five, then one rejected and one retried");
  }));

Deno.test("invalid_grant marks the connection as needing re-authorisation", () =>
  withEmulator(async (emu) => {
    const user = await control<{ uri: string; refresh_token: string }>(emu, "/users", {
      email: "revoked@example.test",
    });
    await control(emu, "/refresh_tokens/revoke", { refresh_token: user.refresh_token });
    const row = new MemoryTokenRow(user.refresh_token);
    const client = calendlyClient(emu, user.refresh_token, row.store());
    await assert.rejects(client.me(), ReauthRequiredError);
    assert.equal(row.status, "needs_reauth");
    await assert.rejects(client.me(), ReauthRequiredError, "and nothing is refreshed after that");
  }));
