// What the status page says (web/status_page/present.ts) and where it reads its configuration
// (web/status_page/config.ts), without a browser.
import assert from "node:assert/strict";
import {
  channelBadge,
  connectionBadge,
  disconnectOutcome,
  disconnectQuestion,
  plainError,
  queueSummary,
  relativeTime,
  replanOutcome,
} from "../../web/status_page/present.ts";
import { resolveConfig } from "../../web/status_page/config.ts";

const NOW = Date.parse("2026-11-30T12:00:00Z");

Deno.test("every connection state is told in words, and re-auth says what to do", () => {
  const active = connectionBadge("google", "active");
  const reauth = connectionBadge("google", "needs_reauth");
  const revoked = connectionBadge("calendly", "revoked");
  assert.deepEqual([active.words, reauth.words, revoked.words], [
    "Active",
    "Needs re-auth",
    "Revoked",
  ]);
  assert.equal(new Set([active.tone, reauth.tone, revoked.tone]).size, 3);
  assert.match(reauth.advice!, /Connect Google Calendar again/);
  assert.equal(connectionBadge("google", "active", false).words, "Paused");
  for (const status of ["active", "expiring", "expired", "none"] as const) {
    assert.ok(channelBadge("google", status, "2026-12-01T12:00:00Z", NOW).words);
  }
  assert.match(channelBadge("google", "expiring", "2026-11-30T15:00:00Z", NOW).advice!, /3 hours/);
});

Deno.test("a stored sync error reads as a sentence; an unknown one as it is", () => {
  assert.equal(
    plainError("google", "reauth_required (invalid_grant): Token has been expired or revoked."),
    "Google Calendar no longer accepts this connection's authorisation: connect it again.",
  );
  assert.match(
    plainError("calendly", "rate_limited: 429 Too Many Requests"),
    /^Calendly is limiting/,
  );
  assert.match(plainError("notion", "permanent (validation_error): bad"), /\(validation_error\)/);
  assert.equal(plainError("google", "disk full"), "The last sync failed: disk full");
});

Deno.test("relative times and outcomes", () => {
  assert.equal(relativeTime("2026-11-30T11:59:50Z", NOW), "just now");
  assert.equal(relativeTime("2026-11-30T11:55:00Z", NOW), "5 minutes ago");
  assert.equal(relativeTime("2026-11-30T15:00:00Z", NOW), "in 3 hours");
  assert.equal(relativeTime("2026-11-29T12:00:00Z", NOW), "yesterday");
  assert.equal(
    replanOutcome({ coalesced: true }),
    "A re-plan is already running; it includes this request.",
  );
  assert.equal(
    replanOutcome({
      run_id: "r",
      unchanged: false,
      moved: 1,
      kept: 2,
      placed: 0,
      unscheduled: [{ id: "s", reason: "deadline_passed" }],
      follow_ups: 0,
    }),
    "Re-planned: moved 1, kept 2, placed 0, 1 not scheduled.",
  );
  const stuck = queueSummary(
    { pending: 1, processing: 0, completed: 4, failed: 2, held: 0, oldest_pending_age_ms: 0 },
    NOW,
  );
  assert.equal(stuck.tone, "bad");
  assert.match(stuck.words, /2 writes failed/);
});

Deno.test("disconnecting names the account, says what goes, and what happened", () => {
  const question = disconnectQuestion({
    id: "c",
    provider: "google",
    external_account_id: "ada@example.test",
    display_name: null,
    status: "active",
    sync_enabled: true,
    settings: {},
    last_sync_at: null,
    last_error: null,
    created_at: "2026-11-30T00:00:00Z",
    updated_at: "2026-11-30T00:00:00Z",
  });
  assert.match(question, /^Disconnect Google Calendar \(ada@example\.test\)\?/);
  assert.match(question, /removed/);
  assert.equal(
    disconnectOutcome({
      connection_id: "c",
      provider: "calendly",
      status: "revoked",
      calendars_removed: 1,
      channels_to_stop: 1,
      release_item: 7,
    }),
    "Disconnected Calendly: 1 calendar no longer synced; anything this app wrote there is being " +
      "removed and its access revoked.",
  );
});

Deno.test("config: the host's object first, then the fragment, then the query; what is missing is named", () => {
  const location = {
    hash: "#supabase_url=https%3A%2F%2Ffragment.test&access_token=from-fragment&realtime=1",
    search: "?supabase_url=https%3A%2F%2Fquery.test&anon_key=from-query&poll_ms=500",
  };
  const resolved = resolveConfig(location, { accessToken: "from-object" });
  assert.ok(resolved.ok);
  assert.equal(resolved.config.supabaseUrl, "https://fragment.test");
  assert.equal(resolved.config.anonKey, "from-query");
  assert.equal(resolved.config.accessToken, "from-object");
  assert.equal(resolved.config.realtime, true);
  assert.equal(resolved.config.pollMs, 500);
  assert.deepEqual(resolveConfig({ hash: "", search: "" }), {
    ok: false,
    missing: ["supabase_url", "anon_key"],
  });
});
