// Notion end to end: the Notion emulator, the gateway, the functions and the database —
// connecting a database (internal token and OAuth), pages reaching the mirror within 2 s by
// webhook and within one polling period with every webhook dropped (two same-minute edits
// included), the verification POST stored and read once, every refused delivery leaving the
// database byte-identical, redelivered event ids changing nothing, and a dated page moving a
// planned session.
import assert from "node:assert/strict";
import {
  callFunction,
  connectDb,
  createUser,
  eventually,
  type Sql,
  stack,
  type TestUser,
} from "../../devkit/stack.ts";
import {
  addPage,
  connectNotion,
  createNotionWorkspace,
  editPage,
  notion,
  type NotionSetup,
  readVerificationTokens,
  resetNotionDelivery,
  setupNotion,
  subscribeWebhooks,
} from "../../devkit/notion.ts";
import { hmacSha256Hex, sha256Hex } from "../../supabase/functions/_shared/security/crypto.ts";
import { planAroundTheClock } from "../../devkit/planning.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();
const iso = (value: string) => new Date(value).toISOString();
/** A slot `fromNowMs` ahead, `minutes` long, on whole minutes. */
function slot(fromNowMs: number, minutes = 60) {
  const start = Math.floor((Date.now() + fromNowMs) / 60_000) * 60_000;
  return { start: at(start), end: at(start + minutes * 60_000) };
}

async function connected(sql: Sql, label: string) {
  const user = await createUser(sql, label);
  const ws = await createNotionWorkspace(label);
  const setup = await connectNotion(user, ws);
  return { user, ws, setup };
}

async function mirrorRow(sql: Sql, setup: NotionSetup, pageId: string) {
  const [row] = await sql`select external_id, summary, starts_at, ends_at, all_day, is_busy,
      provider, details from public.calendar_events
    where connection_id = ${setup.connection.id} and external_id = ${pageId}`;
  return row;
}

/** Runs the backstop as pg_cron does, once: the data source's last sync is moved back a period. */
async function pollOnce(sql: Sql, setup: NotionSetup) {
  const [before] = await eventually(async () => {
    const rows = await sql`select last_synced_at from public.calendar_sync_state
      where connection_id = ${setup.connection.id} and maintenance_claim is null
        and claim_token is null`;
    return rows.length > 0 ? rows : null;
  }, { message: "no sync or maintenance holding the data source" });
  await sql`update public.calendar_sync_state
    set last_synced_at = public.app_now() - (select notion_poll_period + interval '1 second'
      from public.maintenance_settings)
    where connection_id = ${setup.connection.id}`;
  // pg_cron's own run may take the data source first (it is due for it too): either is the poll.
  const [{ batches }] = await sql`select public.maintenance_dispatch() as batches`;
  await eventually(async () => {
    const [state] = await sql`select last_synced_at, claim_token, maintenance_claim
      from public.calendar_sync_state where connection_id = ${setup.connection.id}`;
    // Done when synced AND the maintenance claim is released (after the re-plan): a poll
    // dispatched while it is held would skip the data source until pg_cron's next minute.
    return state.claim_token === null && state.maintenance_claim === null &&
      state.last_synced_at > before.last_synced_at;
  }, { timeoutMs: 15_000, message: `the poll's sync (batches dispatched here: ${batches})` });
}

/** Everything a delivery could change, as one digest. */
async function fingerprint(sql: Sql, setup: NotionSetup, user: TestUser): Promise<string> {
  const [row] = await sql`select md5(concat_ws('|',
      (select string_agg(e::text, ',' order by e.id) from public.calendar_events e
        where e.connection_id = ${setup.connection.id}),
      (select string_agg(s::text, ',' order by s.calendar_id) from public.calendar_sync_state s
        where s.connection_id = ${setup.connection.id}),
      (select string_agg(c::text, ',') from public.calendar_connections c
        where c.id = ${setup.connection.id}),
      (select string_agg(d::text, ',' order by d.id) from public.webhook_deliveries d),
      (select string_agg(v::text, ',' order by v.id) from public.notion_webhook_verifications v),
      (select string_agg(r::text, ',') from public.schedule_recalc_state r
        where r.user_id = ${user.id}))) as digest`;
  return row.digest;
}

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(stack.functionUrl("notion-webhook"), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: response.status, body: await response.text() };
}

Deno.test("connecting a Notion database: its data source, a FULL read of its dated pages, and refusals that name the problem", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "notion-connect");
    const ws = await createNotionWorkspace("connect");
    const standup = await addPage(ws, "Standup", slot(DAY, 30));
    const offsite = await addPage(ws, "Offsite", { start: at(Date.now() + 3 * DAY).slice(0, 10) });
    await addPage(ws, "Someday", null);

    const wrongProperty = await setupNotion(user, {
      token: ws.token,
      database_id: ws.databaseId,
      date_property: "Notes",
    });
    assert.equal(wrongProperty.status, 400);
    assert.equal(wrongProperty.body.error, "invalid_date_property");
    assert.deepEqual(wrongProperty.body.details, { date_properties: ["Date"] });
    const unknown = await setupNotion(user, {
      token: ws.token,
      database_id: crypto.randomUUID(),
    });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    const badToken = await setupNotion(user, {
      token: "ntn_not-a-token",
      database_id: ws.databaseId,
    });
    assert.equal(badToken.status, 400, JSON.stringify(badToken.body));
    assert.equal(badToken.body.error, "invalid_token");

    const setup = await connectNotion(user, ws);
    assert.equal(setup.connection.external_account_id, ws.bot);
    assert.equal(setup.connection.display_name, ws.workspaceName);
    assert.equal(setup.data_source.id, ws.dataSourceId);
    assert.equal(setup.data_source.date_property, "Date");
    assert.deepEqual(setup.sync, {
      full_sync: true,
      new: 2,
      updated: 0,
      deleted: 0,
      pages_total: 2,
    });
    const [connection] = await sql`select provider, settings, refresh_token_encrypted,
        access_token_encrypted from public.calendar_connections where id = ${setup.connection.id}`;
    assert.equal(connection.provider, "notion");
    assert.equal(connection.refresh_token_encrypted, null, "an internal token has no refresh");
    assert.ok(!connection.access_token_encrypted.includes(ws.token), "sealed at rest");
    assert.equal(connection.settings.data_source_id, ws.dataSourceId);
    assert.equal(connection.settings.bot_id, ws.bot);
    const busy = await sql`select source from public.busy_intervals where user_id = ${user.id}`;
    assert.deepEqual(busy.map((row) => row.source), ["notion", "notion"]);
    assert.equal((await mirrorRow(sql, setup, standup)).summary, "Standup");
    assert.equal((await mirrorRow(sql, setup, offsite)).all_day, true);

    const again = await connectNotion(user, ws);
    assert.equal(again.connection.id, setup.connection.id, "the same connection");
    assert.equal(again.sync.full_sync, true, "a setup reads in full again");
    assert.equal(again.sync.new, 0);
  } finally {
    await sql.end();
  }
});

Deno.test("connecting with an OAuth code: rotated single-use refresh tokens are never reused; disconnecting revokes the grant", async () => {
  const sql = connectDb();
  try {
    const user = await createUser(sql, "notion-oauth");
    const redirect = "https://app.example.test/notion/callback";
    const code = await notion<{ code: string; bot_user_id: string }>("/auth_codes", {
      redirect_uri: redirect,
      workspace_name: "OAuth workspace",
    });
    const database = await notion<{ database_id: string }>("/databases", {
      integration: code.bot_user_id,
      title: "Team tasks",
    });
    const answer = await setupNotion(user, {
      code: code.code,
      redirect_uri: redirect,
      database_id: database.database_id,
    });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const setup = answer.body as unknown as NotionSetup;
    assert.equal(setup.connection.external_account_id, code.bot_user_id);
    assert.equal(setup.connection.display_name, "OAuth workspace");
    const [stored] = await sql`select refresh_token_encrypted from public.calendar_connections
      where id = ${setup.connection.id}`;
    assert.ok(stored.refresh_token_encrypted, "the refresh token is stored (sealed)");

    await notion("/counters/reset", {});
    for (let round = 0; round < 3; round++) {
      await notion("/tokens/expire", {});
      const answers = await Promise.all(
        Array.from(
          { length: 3 },
          () =>
            callFunction("refresh-calendar-webhook", stack.serviceRoleKey, {
              connection_id: setup.connection.id,
              trigger: "manual",
            }),
        ),
      );
      for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    }
    const counters = await notion<{ refresh_token_reuse: number; counts: Record<string, number> }>(
      "/counters",
    );
    assert.equal(counters.refresh_token_reuse, 0);
    assert.ok((counters.counts["oauth.token"] ?? 0) >= 1, "the expired token was refreshed");
    const [connection] = await sql`select status from public.calendar_connections
      where id = ${setup.connection.id}`;
    assert.equal(connection.status, "active");

    // Disconnecting revokes the OAuth grant at Notion: no token of it works any more.
    const done = await callFunction("disconnect-calendar", user.jwt, {
      connection_id: setup.connection.id,
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const release = await eventually(async () => {
      const [row] = await sql`select status, note from public.outbound_queue
        where operation = 'revoke_token' and connection_id = ${setup.connection.id}`;
      return row?.status === "COMPLETED" && row;
    }, { message: "the release completed" });
    assert.match(release.note, /grant revoked$/);
    const { integrations } = await notion<
      { integrations: { bot_user_id: string; tokens: { kind: string; revoked: boolean }[] }[] }
    >("/integrations");
    const tokens = integrations.find((i) => i.bot_user_id === code.bot_user_id)!.tokens
      .filter((token) => token.kind === "oauth");
    assert.ok(tokens.length > 0 && tokens.every((token) => token.revoked), "every token revoked");
  } finally {
    await sql.end();
  }
});

Deno.test("with webhooks on, a page added, re-dated or trashed reaches the mirror within 2 s", async () => {
  const sql = connectDb();
  try {
    const { ws, setup } = await connected(sql, "notion-live");
    await subscribeWebhooks(ws);
    const within2s = async (message: string, check: () => Promise<boolean>) => {
      const started = performance.now();
      await eventually(async () => await check(), { timeoutMs: 2_000, intervalMs: 20, message });
      return performance.now() - started;
    };

    const first = slot(DAY);
    let started = performance.now();
    const pageId = await addPage(ws, "Planning", first);
    await within2s(
      "the new page in the mirror",
      async () =>
        (await mirrorRow(sql, setup, pageId))?.starts_at?.toISOString() === iso(first.start),
    );
    const added = performance.now() - started;

    const moved = slot(2 * DAY, 45);
    started = performance.now();
    await editPage(pageId, { properties: { date: moved } });
    await within2s(
      "the re-dated page",
      async () => (await mirrorRow(sql, setup, pageId))?.ends_at?.toISOString() === iso(moved.end),
    );
    const redated = performance.now() - started;

    started = performance.now();
    await editPage(pageId, { in_trash: true });
    await within2s(
      "the trashed page gone",
      async () => (await mirrorRow(sql, setup, pageId)) === undefined,
    );
    const trashed = performance.now() - started;
    console.log(
      `[notion] webhook → mirror: added ${Math.round(added)} ms, re-dated ${
        Math.round(redated)
      } ms, trashed ${Math.round(trashed)} ms`,
    );
    const recorded = await sql`select event_type from public.webhook_deliveries
      where provider = 'notion' and connection_id = ${setup.connection.id}`;
    assert.ok(recorded.some((row) => row.event_type === "page.deleted"));
  } finally {
    await sql.end();
  }
});

Deno.test("with every webhook dropped, one poll converges adds, re-dates, trashes and un-dating; two edits in one minute are both seen", async () => {
  const sql = connectDb();
  try {
    const { ws, setup } = await connected(sql, "notion-poll");
    const { subscriptionId } = await subscribeWebhooks(ws);
    const keep = await addPage(ws, "Keep", slot(DAY));
    const trash = await addPage(ws, "Trash me", slot(2 * DAY));
    const undate = await addPage(ws, "Undate me", slot(3 * DAY));
    await eventually(async () => (await mirrorRow(sql, setup, undate)) !== undefined, {
      message: "the pages, by webhook",
    });
    await notion("/deliveries/flush", {});
    await eventually(async () => {
      const [state] = await sql`select needs_sync, claim_token from public.calendar_sync_state
        where connection_id = ${setup.connection.id}`;
      return !state.needs_sync && state.claim_token === null;
    }, { message: "the webhook-driven syncs settled" });
    await notion("/drops", { ratio: 1 });

    const added = await addPage(ws, "Added", slot(4 * DAY));
    const moved = slot(5 * DAY, 30);
    await editPage(keep, { properties: { date: moved } });
    await editPage(trash, { in_trash: true });
    await editPage(undate, { properties: { date: null } });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(await mirrorRow(sql, setup, added), undefined, "no webhook brought it");
    assert.ok(await mirrorRow(sql, setup, trash), "nor took the trashed page away");
    await pollOnce(sql, setup);
    assert.ok(await mirrorRow(sql, setup, added), "the added page");
    assert.equal((await mirrorRow(sql, setup, keep)).starts_at.toISOString(), iso(moved.start));
    assert.equal(await mirrorRow(sql, setup, trash), undefined, "the trashed page is gone");
    assert.equal(await mirrorRow(sql, setup, undate), undefined, "the undated page is gone");

    // Two edits within one minute (Notion shows both at the same last_edited_time).
    while (new Date().getUTCSeconds() > 35) await new Promise((r) => setTimeout(r, 500));
    const firstEdit = slot(6 * DAY);
    const one = await editPage(added, { properties: { date: firstEdit } });
    await pollOnce(sql, setup);
    assert.equal(
      (await mirrorRow(sql, setup, added)).starts_at.toISOString(),
      iso(firstEdit.start),
    );
    const secondEdit = slot(7 * DAY);
    const two = await editPage(added, { properties: { date: secondEdit, title: "Added twice" } });
    assert.equal(two.last_edited_time, one.last_edited_time, "the same minute");
    await pollOnce(sql, setup);
    const row = await mirrorRow(sql, setup, added);
    assert.equal(row.starts_at.toISOString(), iso(secondEdit.start), "the second edit is seen");
    assert.equal(row.summary, "Added twice");

    const { deliveries } = await notion<{ deliveries: { kind: string; outcome: string }[] }>(
      `/deliveries?subscription_id=${subscriptionId}`,
    );
    const afterDrop = deliveries.filter((d) => d.kind === "event").slice(-8);
    assert.ok(afterDrop.every((d) => d.outcome === "dropped"), JSON.stringify(afterDrop));
  } finally {
    await resetNotionDelivery();
    await sql.end();
  }
});

Deno.test("the verification POST is stored, not acted on; the operator reads it once and only then does it verify", async () => {
  const sql = connectDb();
  const token = `secret_${crypto.randomUUID().replaceAll("-", "")}`;
  try {
    const { user, setup } = await connected(sql, "notion-verify");
    const [deliveriesBefore] = await sql`select count(*)::int as n from public.webhook_deliveries`;
    const stored = await post(JSON.stringify({ verification_token: token }));
    assert.equal(stored.status, 200, stored.body);
    assert.equal(JSON.parse(stored.body).status, "verification_stored");
    const [row] = await sql`select status, token_encrypted, read_at
      from public.notion_webhook_verifications where token_sha256 = ${await sha256Hex(token)}`;
    assert.equal(row.status, "pending");
    assert.ok(!row.token_encrypted.includes(token), "sealed at rest");
    const [deliveriesAfter] = await sql`select count(*)::int as n from public.webhook_deliveries`;
    assert.equal(deliveriesAfter.n, deliveriesBefore.n, "not an event");

    const [{ workspace }] = await sql`select settings ->> 'workspace_id' as workspace
      from public.calendar_connections where id = ${setup.connection.id}`;
    const event = JSON.stringify({
      id: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
      workspace_id: workspace,
      type: "page.created",
      entity: { id: crypto.randomUUID(), type: "page" },
      data: { parent: { id: setup.data_source.database_id, type: "database" } },
    });
    const signature = `sha256=${await hmacSha256Hex(token, event)}`;
    const early = await post(event, { "x-notion-signature": signature });
    assert.equal(early.status, 401, "an unread token verifies nothing");

    for (const key of [stack.anonKey, user.jwt]) {
      const response = await fetch(stack.functionUrl("notion-webhook"), {
        headers: { authorization: `Bearer ${key}` },
      });
      await response.body?.cancel();
      assert.ok([401, 403].includes(response.status), `GET with ${key.slice(0, 12)}…`);
    }
    const read = await readVerificationTokens();
    assert.equal(read.status, 200);
    assert.ok(read.tokens.some((t) => t.verification_token === token), "the operator reads it");
    const second = await readVerificationTokens();
    assert.ok(!second.tokens.some((t) => t.verification_token === token), "once");

    const accepted = await post(event, { "x-notion-signature": signature });
    assert.equal(accepted.status, 200, accepted.body);
    assert.equal(JSON.parse(accepted.body).status, "marked");
  } finally {
    await sql`delete from public.notion_webhook_verifications
      where token_sha256 = ${await sha256Hex(token)}`;
    await sql.end();
  }
});

Deno.test("forged, unsigned, malformed or tampered deliveries are 401 and leave the database byte-identical", async () => {
  const sql = connectDb();
  const attacker = `secret_${crypto.randomUUID().replaceAll("-", "")}`;
  try {
    const { user, ws, setup } = await connected(sql, "notion-forged");
    const { verificationToken } = await subscribeWebhooks(ws);
    // A token anyone can POST to the open endpoint, never read by the operator.
    assert.equal((await post(JSON.stringify({ verification_token: attacker }))).status, 200);
    // No poll may run meanwhile: the digest must only move if a delivery moved it.
    await sql`update public.calendar_sync_state set last_synced_at = public.app_now() + interval '1 hour'
      where connection_id = ${setup.connection.id}`;
    const body = JSON.stringify({
      id: crypto.randomUUID(),
      timestamp: new Date().toISOString(),
      workspace_id: ws.workspaceId,
      integration_id: ws.integrationId,
      authors: [{ id: crypto.randomUUID(), type: "person" }],
      attempt_number: 1,
      type: "page.properties_updated",
      entity: { id: crypto.randomUUID(), type: "page" },
      data: { parent: { id: ws.databaseId, type: "database", data_source_id: ws.dataSourceId } },
    });
    const valid = `sha256=${await hmacSha256Hex(verificationToken, body)}`;
    const before = await fingerprint(sql, setup, user);
    const refused: [string, string, Record<string, string>][] = [
      ["unsigned", body, {}],
      ["forged with another key", body, {
        "x-notion-signature": `sha256=${await hmacSha256Hex("secret_guess", body)}`,
      }],
      ["signed with a token the operator never read", body, {
        "x-notion-signature": `sha256=${await hmacSha256Hex(attacker, body)}`,
      }],
      ["tampered body", body.replace("properties_updated", "deleted"), {
        "x-notion-signature": valid,
      }],
      ["malformed signature", body, { "x-notion-signature": valid.replace("sha256=", "") }],
      ["an empty signature", body, { "x-notion-signature": "" }],
    ];
    for (const [label, payload, headers] of refused) {
      const answer = await post(payload, headers);
      assert.equal(answer.status, 401, `${label}: ${answer.body}`);
      assert.equal(await fingerprint(sql, setup, user), before, `${label} changed nothing`);
    }
    const accepted = await post(body, { "x-notion-signature": valid });
    assert.equal(accepted.status, 200, accepted.body);
    assert.notEqual(await fingerprint(sql, setup, user), before, "a valid one does change it");
  } finally {
    await sql`delete from public.notion_webhook_verifications
      where token_sha256 = ${await sha256Hex(attacker)}`;
    await sql.end();
  }
});

Deno.test("a redelivered event id changes nothing twice", async () => {
  const sql = connectDb();
  try {
    const { user, ws, setup } = await connected(sql, "notion-redeliver");
    const { subscriptionId } = await subscribeWebhooks(ws);
    const pageId = await addPage(ws, "Once", slot(DAY));
    await eventually(async () => (await mirrorRow(sql, setup, pageId)) !== undefined, {
      message: "the page, by webhook",
    });
    await notion("/deliveries/flush", {});
    await eventually(async () => {
      const [state] = await sql`select needs_sync, claim_token,
          exists (select 1 from public.schedule_recalc_state r
            where r.user_id = ${user.id} and r.needs_run) as planning
        from public.calendar_sync_state where connection_id = ${setup.connection.id}`;
      return !state.needs_sync && state.claim_token === null && !state.planning;
    }, { message: "the syncs and the re-plan settled" });
    await sql`update public.calendar_sync_state set last_synced_at = public.app_now() + interval '1 hour'
      where connection_id = ${setup.connection.id}`;
    const { deliveries } = await notion<{
      deliveries: { index: number; event_id: string; type: string; outcome: string }[];
    }>(`/deliveries?subscription_id=${subscriptionId}&type=page.created`);
    const created = deliveries.find((d) => d.outcome === "delivered")!;
    const before = await fingerprint(sql, setup, user);

    const replay = await notion<{ deliveries: { attempts: { status?: number }[] }[] }>(
      `/deliveries/${created.index}/redeliver`,
      { times: 4, concurrent: true },
    );
    assert.deepEqual(
      replay.deliveries.map((d) => d.attempts[0].status),
      [200, 200, 200, 200],
      "answered 2xx, so Notion stops retrying",
    );
    assert.equal(await fingerprint(sql, setup, user), before, "nothing changed");
    const [{ n }] = await sql`select count(*)::int as n from public.webhook_deliveries
      where provider = 'notion' and dedupe_key = ${created.event_id}`;
    assert.equal(n, 1);
  } finally {
    await sql.end();
  }
});

Deno.test("a dated Notion page over a planned session moves the session", async () => {
  const sql = connectDb();
  try {
    const { user, ws } = await connected(sql, "notion-planner");
    await subscribeWebhooks(ws);
    await planAroundTheClock(sql, user.id);
    const [session] = await sql`insert into public.sessions (user_id, title, duration_minutes,
        earliest_start)
      values (${user.id}, 'Deep work', 60, ${new Date(Date.now() + 2 * HOUR)}) returning id`;
    const planned = await fetch(stack.functionUrl("recalculate-schedule"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(planned.status, 200, await planned.text());
    const blockOf = async () =>
      (await sql`select starts_at from public.session_blocks where session_id = ${session.id}`)[0]
        .starts_at as Date;
    const before = await blockOf();

    await addPage(ws, "Client call", {
      start: before.toISOString(),
      end: new Date(before.getTime() + HOUR).toISOString(),
    });
    const moved = await eventually(async () => {
      const now = await blockOf();
      return now.getTime() !== before.getTime() ? now : null;
    }, { message: "the session stepping aside" });
    assert.ok(
      moved.getTime() >= before.getTime() + HOUR || moved.getTime() + HOUR <= before.getTime(),
      "out of the page's hour",
    );
    const [run] = await sql`select trigger from public.schedule_runs where user_id = ${user.id}
      order by created_at desc limit 1`;
    assert.equal(run.trigger, "calendar_change");
  } finally {
    await sql.end();
  }
});
