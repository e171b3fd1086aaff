// The queue's release items: the sealed grant opens only for the connection it was sealed for,
// an expired access token is not offered, and a grant the provider already refuses is done.
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../../../supabase/functions/_shared/clock.ts";
import { parseConfig } from "../../../supabase/functions/_shared/config.ts";
import {
  applyRelease,
  emptyReleaseReport,
  openRelease,
  removeWritten,
} from "../../../supabase/functions/_shared/outbound/release.ts";
import type { OutboundItem } from "../../../supabase/functions/_shared/outbound/types.ts";
import {
  ProviderApiError,
  ReauthRequiredError,
} from "../../../supabase/functions/_shared/net/provider_error.ts";
import { sealForConnection } from "../../../supabase/functions/_shared/sync/credentials.ts";
import type {
  AccessRelease,
  ProviderAdapter,
} from "../../../supabase/functions/_shared/sync/types.ts";

const config = parseConfig({
  SUPABASE_URL: "http://localhost:54321",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  TOKEN_ENCRYPTION_KEY: "bG9jYWwtc3RhY2stb25seS1kby1ub3QtZGVwbG95ISE=",
});
const NOW = Date.parse("2030-01-01T00:00:00Z");
const clock: Clock = { now: () => NOW, monotonic: () => 0 };
const key = {
  provider: "google" as const,
  user_id: "11111111-1111-1111-1111-111111111111",
  external_account_id: "a@example.test",
};

async function releaseItem(
  overrides: { accessExpiresAt?: string; boundTo?: typeof key } = {},
): Promise<OutboundItem> {
  const sealKey = overrides.boundTo ?? key;
  return {
    id: 1,
    claim: "c",
    user_id: null,
    connection_id: null,
    provider: "google",
    operation: "revoke_token",
    target_calendar: "",
    target_key: "grant",
    desired: {
      channels: [{ calendar_id: "primary", channel_id: "ch-1", resource_id: "res-1" }],
      written: [{ calendar_id: "primary", external_id: "blockevent1" }],
      planned_calendar_id: "planned-1@group.calendar.google.com",
    },
    credential: {
      ...key,
      refresh_token_encrypted: await sealForConnection(config, sealKey, "refresh-1"),
      access_token_encrypted: await sealForConnection(config, sealKey, "access-1"),
      access_token_expires_at: overrides.accessExpiresAt ?? "2030-01-01T00:30:00Z",
    },
    attempts: 0,
    connection: null,
    link: null,
  };
}

function adapterWith(releaseAccess?: ProviderAdapter["releaseAccess"]): ProviderAdapter {
  return {
    name: "google",
    changeStrategy: () => {
      throw new Error("not used");
    },
    releaseAccess,
  };
}

const context = { db: {} as SupabaseClient, config, clock };

Deno.test("a release opens the sealed grant, the channels that were live and what write-back wrote", async () => {
  const release = await openRelease(config, clock, await releaseItem());
  assert.equal(release.refreshToken, "refresh-1");
  assert.deepEqual(release.accessToken, {
    accessToken: "access-1",
    expiresAt: Date.parse("2030-01-01T00:30:00Z"),
  });
  assert.deepEqual(release.channels, [
    { calendar_id: "primary", channel_id: "ch-1", resource_id: "res-1", resource_uri: null },
  ]);
  assert.deepEqual(release.written, [{ calendar_id: "primary", external_id: "blockevent1" }]);
  assert.equal(release.plannedCalendarId, "planned-1@group.calendar.google.com");
});

Deno.test("an item queued without write-back targets releases only channels and the grant", async () => {
  const item = await releaseItem();
  item.desired = { channels: [] };
  const release = await openRelease(config, clock, item);
  assert.deepEqual(release.written, []);
  assert.equal(release.plannedCalendarId, null);
});

Deno.test("an expired access token is not offered (the refresh token is)", async () => {
  const release = await openRelease(
    config,
    clock,
    await releaseItem({ accessExpiresAt: "2029-12-31T23:00:00Z" }),
  );
  assert.equal(release.accessToken, null);
  assert.equal(release.refreshToken, "refresh-1");
});

Deno.test("a grant sealed for another connection does not open", async () => {
  const item = await releaseItem({ boundTo: { ...key, external_account_id: "b@example.test" } });
  await assert.rejects(() => openRelease(config, clock, item));
});

Deno.test("the adapter removes, stops and revokes; a grant already refused counts as done", async () => {
  const seen: AccessRelease[] = [];
  const done = await applyRelease(
    context,
    adapterWith((_context, release) => {
      seen.push(release);
      return Promise.resolve({
        writtenRemoved: 2,
        writtenKept: 1,
        channelsStopped: 1,
        channelsGone: 0,
        tokenRevoked: true,
      });
    }),
    await releaseItem(),
  );
  assert.deepEqual(done, {
    kind: "done",
    note: "released: 2 written item(s) removed (1 refused by the provider, left), " +
      "1 channel(s) stopped, 0 already gone, grant revoked",
  });
  assert.equal(seen[0].channels.length, 1);

  const refused = await applyRelease(
    context,
    adapterWith(() =>
      Promise.reject(
        new ReauthRequiredError({ provider: "google", status: 400, message: "invalid_grant" }),
      )
    ),
    await releaseItem(),
  );
  assert.deepEqual(refused, {
    kind: "done",
    note: "the grant was already revoked at the provider",
  });
});

Deno.test("a provider outage is thrown for the processor to retry", async () => {
  const outage = new ProviderApiError({
    provider: "google",
    kind: "server",
    status: 503,
    message: "backend error",
  });
  const item = await releaseItem();
  await assert.rejects(
    () => applyRelease(context, adapterWith(() => Promise.reject(outage)), item),
    (error) => error === outage,
  );
});

Deno.test("removing what was written: gone counts as removed, refused for good is left, an outage is thrown", async () => {
  const error = (kind: ProviderApiError["kind"], status: number) =>
    new ProviderApiError({ provider: "google", kind, status, message: kind });
  const answers: Record<string, () => Promise<void>> = {
    removed: () => Promise.resolve(),
    gone: () => Promise.reject(error("gone", 410)),
    missing: () => Promise.reject(error("not_found", 404)),
    forbidden: () => Promise.reject(error("permanent", 403)),
  };
  const report = emptyReleaseReport();
  await removeWritten(Object.keys(answers), (item) => answers[item](), report);
  assert.equal(report.writtenRemoved, 3);
  assert.equal(report.writtenKept, 1);

  const outage = error("server", 503);
  await assert.rejects(
    () => removeWritten(["a"], () => Promise.reject(outage), report),
    (thrown) => thrown === outage,
  );
  const dead = new ReauthRequiredError({
    provider: "google",
    status: 400,
    message: "invalid_grant",
  });
  await assert.rejects(
    () => removeWritten(["a"], () => Promise.reject(dead), report),
    (thrown) => thrown === dead,
  );
});
