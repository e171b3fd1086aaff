// Tests for the Notion API emulator. Run: deno test -A tests/emulators/notion/
// Each test starts its own emulator in-process on port 0 (rate limiting off unless the test is
// about it) and asserts observable behaviour over HTTP.

import assert from "node:assert/strict";
import { type NotionEmulator, type NotionEmulatorOptions, startNotionEmulator } from "./server.ts";

const VERSION = "2025-09-03";
const CLIENT = { id: "emulator-notion-client-id", secret: "emulator-notion-client-secret" };

interface Res {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

// deno-lint-ignore no-explicit-any
type Any = any;

async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {}, headers: res.headers };
}

interface Setup {
  token: string;
  bot: string;
  integrationId: string;
  workspaceId: string;
  db: string;
  ds: string;
}

class Harness {
  constructor(readonly emu: NotionEmulator) {}

  ctl(path: string, body?: unknown, method = body === undefined ? "GET" : "POST"): Promise<Res> {
    return call(`${this.emu.url}/__emulator/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  api(
    token: string | null,
    method: string,
    path: string,
    body?: unknown,
    version: string | null = VERSION,
  ): Promise<Res> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (version !== null) headers["notion-version"] = version;
    return call(`${this.emu.url}/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** An internal integration with one shared database (default schema). */
  async setup(): Promise<Setup> {
    const i = await this.ctl("integrations", { name: "app" });
    assert.equal(i.status, 201);
    const d = await this.ctl("databases", { integration: i.body.bot_user_id, title: "Training" });
    assert.equal(d.status, 201);
    return {
      token: i.body.token as string,
      bot: i.body.bot_user_id as string,
      integrationId: i.body.integration_id as string,
      workspaceId: i.body.workspace_id as string,
      db: d.body.database_id as string,
      ds: d.body.data_source_id as string,
    };
  }

  clock(body: Record<string, unknown>): Promise<Res> {
    return this.ctl("clock", body);
  }

  createPage(s: Setup, properties: Record<string, unknown>): Promise<Res> {
    return this.api(s.token, "POST", "pages", { parent: { data_source_id: s.ds }, properties });
  }

  query(s: Setup, body: Record<string, unknown> = {}): Promise<Res> {
    return this.api(s.token, "POST", `data_sources/${s.ds}/query`, body);
  }
}

async function withEmulator(
  fn: (h: Harness) => Promise<void>,
  options: NotionEmulatorOptions = {},
): Promise<void> {
  const emu = await startNotionEmulator({ useEnv: false, rateLimitPerSecond: 0, ...options });
  try {
    await fn(new Harness(emu));
  } finally {
    await emu.close();
  }
}

interface Received {
  headers: Headers;
  body: string;
}

/** A local webhook receiver; `respond` picks the status per request (1-based). */
function startReceiver(respond: (n: number) => number = () => 200) {
  const received: Received[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ headers: req.headers, body: await req.text() });
    return new Response(null, { status: respond(received.length) });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/notion`,
    received,
    events: () => received.map((r) => JSON.parse(r.body) as Any).filter((e) => e.type),
    close: () => server.shutdown(),
  };
}

/** Create a subscription and verify it with the token the receiver got. */
async function subscribe(
  h: Harness,
  s: Setup,
  url: string,
  received: Received[],
  extra: Record<string, unknown> = {},
) {
  const sub = await h.ctl("webhooks", { integration: s.integrationId, url, ...extra });
  assert.equal(sub.status, 201);
  const token = JSON.parse(received.at(-1)!.body).verification_token as string;
  const id = (sub.body.subscription as Any).id as string;
  const ok = await h.ctl(`webhooks/${id}/verify`, { verification_token: token });
  assert.equal(ok.status, 200);
  return { id, token };
}

const title = (text: string) => ({ title: [{ text: { content: text } }] });
const text = (t: string) => ({ rich_text: [{ text: { content: t } }] });

async function hmacHex(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    enc.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(body)));
  return [...sig].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- Versions, auth, discovery -----------------------------------------------------------

Deno.test("a missing Notion-Version is 400 and old versions lose data sources", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const missing = await h.api(s.token, "GET", `databases/${s.db}`, undefined, null);
    assert.equal(missing.status, 400);
    assert.equal(missing.body.object, "error");
    assert.equal(missing.body.code, "missing_version");
    assert.equal(typeof missing.body.message, "string");

    const bogus = await h.api(s.token, "GET", `databases/${s.db}`, undefined, "yesterday");
    assert.equal(bogus.status, 400);
    assert.equal(bogus.body.code, "validation_error");

    const legacy = await h.api(s.token, "POST", `data_sources/${s.ds}/query`, {}, "2022-06-28");
    assert.equal(legacy.status, 400);
    assert.equal(legacy.body.code, "invalid_request");
    const legacyQuery = await h.api(s.token, "POST", `databases/${s.db}/query`, {}, "2022-06-28");
    assert.equal(legacyQuery.status, 200);
    assert.equal(legacyQuery.body.type, "page_or_database");
    const movedQuery = await h.api(s.token, "POST", `databases/${s.db}/query`, {});
    assert.equal(movedQuery.body.code, "invalid_request", "2025-09-03 queries data sources");
    const legacyDb = await h.api(s.token, "GET", `databases/${s.db}`, undefined, "2022-06-28");
    assert.equal(legacyDb.status, 200);
    assert.ok((legacyDb.body.properties as Any).Title, "legacy databases carry properties");

    const page = await h.createPage(s, { Title: title("x") });
    const v2025 = await h.api(s.token, "GET", `pages/${page.body.id}`);
    assert.equal(v2025.body.in_trash, false);
    assert.equal(v2025.body.archived, false);
    const v2026 = await h.api(s.token, "GET", `pages/${page.body.id}`, undefined, "2026-03-11");
    assert.equal(v2026.body.in_trash, false);
    assert.equal("archived" in v2026.body, false);
  });
});

Deno.test("a token sees only shared databases and bad tokens get 401", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const other = await h.ctl("databases", { workspace_id: s.workspaceId, title: "Private" });
    const hidden = await h.api(s.token, "GET", `databases/${other.body.database_id}`);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.body.code, "object_not_found");
    const hiddenDs = await h.api(
      s.token,
      "POST",
      `data_sources/${other.body.data_source_id}/query`,
      {},
    );
    assert.equal(hiddenDs.status, 404);

    const shared = await h.ctl("share", {
      integration: s.bot,
      database_id: other.body.database_id,
    });
    assert.equal(shared.status, 200);
    assert.equal((await h.api(s.token, "GET", `databases/${other.body.database_id}`)).status, 200);

    for (const token of [null, "ntn_nope"]) {
      const res = await h.api(token, "GET", `databases/${s.db}`);
      assert.equal(res.status, 401);
      assert.equal(res.body.code, "unauthorized");
    }
    const badId = await h.api(s.token, "GET", "pages/not-a-uuid");
    assert.equal(badId.status, 400);
    assert.equal(badId.body.code, "validation_error");
    const unknownRoute = await h.api(s.token, "GET", "blocks/x/children");
    assert.equal(unknownRoute.status, 400);
    assert.equal(unknownRoute.body.code, "invalid_request_url");
  });
});

Deno.test("a database lists its data sources, which expose the schema", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const db = await h.api(s.token, "GET", `databases/${s.db.replaceAll("-", "")}`);
    assert.equal(db.status, 200);
    assert.equal(db.body.object, "database");
    assert.equal(db.body.id, s.db);
    assert.deepEqual(db.body.data_sources, [{ id: s.ds, name: "Training" }]);
    assert.equal((db.body.title as Any)[0].plain_text, "Training");
    assert.match(db.body.last_edited_time as string, /:00\.000Z$/);

    const ds = await h.api(s.token, "GET", `data_sources/${s.ds}`);
    assert.equal(ds.status, 200);
    assert.equal(ds.body.object, "data_source");
    assert.deepEqual(ds.body.parent, { type: "database_id", database_id: s.db });
    const props = ds.body.properties as Any;
    assert.deepEqual(
      Object.fromEntries(Object.entries(props).map(([k, v]: [string, Any]) => [k, v.type])),
      {
        Title: "title",
        Date: "date",
        Description: "rich_text",
        Location: "rich_text",
        Notes: "rich_text",
      },
    );
    assert.equal(props.Title.id, "title");
    assert.equal(props.Date.name, "Date");

    const found = await h.api(s.token, "POST", "search", {
      filter: { property: "object", value: "data_source" },
    });
    assert.deepEqual((found.body.results as Any[]).map((r) => r.id), [s.ds]);
    await h.createPage(s, { Title: title("Morning run") });
    await h.createPage(s, { Title: title("Evening swim") });
    const pages = await h.api(s.token, "POST", "search", { query: "RUN" });
    assert.deepEqual((pages.body.results as Any[]).map((r) => r.object), ["page"]);
    const me = await h.api(s.token, "GET", "users/me");
    assert.equal(me.body.id, s.bot);
    const person = await h.api(s.token, "GET", "users/c0ffee00-0000-4000-8000-000000000001");
    assert.equal(person.body.type, "person");

    // A database with two data sources cannot be a page parent by database_id.
    await h.ctl(`databases/${s.db}/data_sources`, { name: "Second" });
    const viaDb = await h.api(s.token, "POST", "pages", {
      parent: { database_id: s.db },
      properties: { Title: title("x") },
    });
    assert.equal(viaDb.status, 400);
    assert.equal(viaDb.body.code, "validation_error");
  });
});

// ---- Timestamps and queries --------------------------------------------------------------

Deno.test("edits in one minute share last_edited_time and on_or_after finds both", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    await h.clock({ set: "2026-01-05T10:00:10.000Z", freeze: true });
    const a = await h.createPage(s, { Title: title("A") });
    const b = await h.createPage(s, { Title: title("B") });
    await h.clock({ advanceSeconds: 60 }); // 10:01:10
    await h.api(s.token, "PATCH", `pages/${a.body.id}`, { properties: { Notes: text("1") } });
    await h.clock({ advanceSeconds: 40 }); // 10:01:50, same minute
    const edited = await h.api(s.token, "PATCH", `pages/${b.body.id}`, {
      properties: { Notes: text("2") },
    });
    assert.equal(edited.body.last_edited_time, "2026-01-05T10:01:00.000Z");
    assert.equal(edited.body.created_time, "2026-01-05T10:00:00.000Z");
    const pa = await h.api(s.token, "GET", `pages/${a.body.id}`);
    assert.equal(pa.body.last_edited_time, edited.body.last_edited_time);

    const since = (op: string, iso: string) =>
      h.query(s, { filter: { timestamp: "last_edited_time", last_edited_time: { [op]: iso } } });
    const both = await since("on_or_after", "2026-01-05T10:01:00.000Z");
    assert.deepEqual(
      (both.body.results as Any[]).map((p) => p.id).sort(),
      [a.body.id, b.body.id].sort(),
    );
    // A cursor taken after the first edit (10:01:30) misses both: the trap the app must handle.
    assert.equal(
      ((await since("after", "2026-01-05T10:01:30.000Z")).body.results as Any[]).length,
      0,
    );
    assert.equal(
      ((await since("before", "2026-01-05T10:01:00.000Z")).body.results as Any[]).length,
      0,
    );
    const created = await h.query(s, {
      filter: { timestamp: "created_time", created_time: { equals: "2026-01-05T10:00:00.000Z" } },
    });
    assert.equal((created.body.results as Any[]).length, 2);
    assert.equal(created.body.type, "page_or_data_source");
  });
});

Deno.test("date, compound filters and sorts select and order pages", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const mk = (name: string, date: unknown, notes = "") =>
      h.createPage(s, { Title: title(name), Date: { date }, Notes: text(notes) });
    await mk("early", { start: "2026-03-01T08:00:00Z" }, "run");
    await mk("allday", { start: "2026-03-02" });
    await mk("late", { start: "2026-03-03T18:00:00+02:00" }, "swim");
    await mk("none", null, "run");
    const names = (r: Res) =>
      (r.body.results as Any[]).map((p) => p.properties.Title.title[0].plain_text);
    const byDate = [{ property: "Date", direction: "ascending" }];

    const after = await h.query(s, {
      filter: { property: "Date", date: { on_or_after: "2026-03-02" } },
      sorts: byDate,
    });
    assert.deepEqual(names(after), ["allday", "late"]);
    const before = await h.query(s, {
      filter: { property: "Date", date: { before: "2026-03-02T00:00:00Z" } },
    });
    assert.deepEqual(names(before), ["early"]);
    const empty = await h.query(s, { filter: { property: "Date", date: { is_empty: true } } });
    assert.deepEqual(names(empty), ["none"]);
    const compound = await h.query(s, {
      filter: {
        or: [
          { property: "Notes", rich_text: { equals: "swim" } },
          {
            and: [
              { property: "Date", date: { is_not_empty: true } },
              { property: "Notes", rich_text: { contains: "RUN" } },
            ],
          },
        ],
      },
      sorts: [{ property: "Date", direction: "descending" }],
    });
    assert.deepEqual(names(compound), ["late", "early"]);
    const desc = await h.query(s, { sorts: [{ property: "Date", direction: "descending" }] });
    assert.deepEqual(names(desc), ["late", "allday", "early", "none"], "empty dates sort last");

    const badProp = await h.query(s, { filter: { property: "Nope", date: { is_empty: true } } });
    assert.equal(badProp.status, 400);
    assert.equal(badProp.body.code, "validation_error");
    const badType = await h.query(s, { filter: { property: "Date", checkbox: { equals: true } } });
    assert.equal(badType.status, 400);
    const tooDeep = await h.query(s, {
      filter: { and: [{ or: [{ and: [{ property: "Date", date: { is_empty: true } }] }] }] },
    });
    assert.equal(tooDeep.status, 400);
  });
});

Deno.test("cursors return every page once despite caps and mid-walk edits", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const seeded = await h.ctl("seed", {
      data_source_id: s.ds,
      count: 7,
      from: "2026-04-01T07:00:00Z",
      spacing_minutes: 60,
      duration_minutes: 45,
    });
    assert.equal(seeded.status, 201);
    for (const size of [0, 101, 2.5]) {
      const bad = await h.query(s, { page_size: size });
      assert.equal(bad.status, 400, `page_size ${size}`);
      assert.equal(bad.body.code, "validation_error");
    }
    const sorts = [{ property: "Date", direction: "ascending" }];
    const first = await h.query(s, { page_size: 3, sorts });
    assert.equal((first.body.results as Any[]).length, 3);
    assert.equal(first.body.has_more, true);
    // Edit a page not yet returned and add a new one: the walk neither skips nor repeats.
    const ids = seeded.body.page_ids as string[];
    await h.api(s.token, "PATCH", `pages/${ids[5]}`, { properties: { Notes: text("edited") } });
    await h.createPage(s, { Title: title("new"), Date: { date: { start: "2026-03-01" } } });
    const seen = [...(first.body.results as Any[])];
    let cursor = first.body.next_cursor as string | null;
    const retry = await h.query(s, { page_size: 3, sorts, start_cursor: cursor });
    while (cursor) {
      const page = await h.query(s, { page_size: 3, sorts, start_cursor: cursor });
      assert.equal(page.status, 200);
      seen.push(...(page.body.results as Any[]));
      cursor = page.body.next_cursor as string | null;
      assert.equal(page.body.has_more, cursor !== null);
    }
    assert.deepEqual(seen.map((p) => p.id), ids, "same order, no gaps, no duplicates");
    assert.equal(seen[5].properties.Notes.rich_text[0].plain_text, "edited");
    const again = await h.query(s, { page_size: 3, sorts, start_cursor: first.body.next_cursor });
    assert.deepEqual(again.body.results, retry.body.results, "a cursor can be retried");
    const badCursor = await h.query(s, { start_cursor: "not-a-cursor" });
    assert.equal(badCursor.status, 400);

    const all = await h.query(s, {});
    assert.equal((all.body.results as Any[]).length, 8, "page_size defaults to 100");
    await h.ctl("config", { pageSizeCap: 2 });
    const capped = await h.query(s, { page_size: 100 });
    assert.equal((capped.body.results as Any[]).length, 2);
    assert.equal(capped.body.has_more, true);
  });
});

// ---- Pages -------------------------------------------------------------------------------

Deno.test("bots author API writes, people control writes; trash is reversible", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const created = await h.createPage(s, { Title: title("Run"), Location: text("Park") });
    assert.equal(created.status, 200);
    const id = created.body.id as string;
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.deepEqual(created.body.created_by, { object: "user", id: s.bot });
    assert.deepEqual(created.body.parent, {
      type: "data_source_id",
      data_source_id: s.ds,
      database_id: s.db,
    });
    assert.equal(created.body.is_locked, false);
    assert.equal(created.body.public_url, null);
    assert.equal((created.body.properties as Any).Location.rich_text[0].plain_text, "Park");
    assert.deepEqual((created.body.properties as Any).Date, {
      id: (created.body.properties as Any).Date.id,
      type: "date",
      date: null,
    });

    const person = await h.ctl(`pages/${id}`, { properties: { notes: "from the UI" } }, "PATCH");
    assert.equal(person.status, 200);
    const afterPerson = await h.api(s.token, "GET", `pages/${id}`);
    assert.equal(
      (afterPerson.body.last_edited_by as Any).id,
      "c0ffee00-0000-4000-8000-000000000001",
    );
    assert.equal((afterPerson.body.properties as Any).Notes.rich_text[0].plain_text, "from the UI");

    const trashed = await h.api(s.token, "PATCH", `pages/${id}`, { in_trash: true });
    assert.equal(trashed.body.in_trash, true);
    assert.equal(trashed.body.archived, true);
    assert.deepEqual(trashed.body.last_edited_by, { object: "user", id: s.bot });
    assert.equal(((await h.query(s)).body.results as Any[]).length, 0, "queries skip the trash");
    assert.equal((await h.api(s.token, "GET", `pages/${id}`)).body.in_trash, true);
    const blocked = await h.api(s.token, "PATCH", `pages/${id}`, {
      properties: { Notes: text("x") },
    });
    assert.equal(blocked.status, 400);
    const restored = await h.api(s.token, "PATCH", `pages/${id}`, { archived: false });
    assert.equal(restored.body.in_trash, false);
    assert.equal(((await h.query(s)).body.results as Any[]).length, 1);
    const noAlias = await h.api(s.token, "PATCH", `pages/${id}`, { archived: true }, "2026-03-11");
    assert.equal(noAlias.status, 400);

    const unknown = await h.api(s.token, "PATCH", `pages/${id}`, {
      properties: { Nope: text("x") },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, "validation_error");
    const wrongType = await h.api(s.token, "PATCH", `pages/${id}`, {
      properties: { Date: text("x") },
    });
    assert.equal(wrongType.status, 400);

    const truth = await h.ctl(`data_sources/${s.ds}/pages?include_trashed=true`);
    assert.equal(truth.body.count, 1);
  });
});

Deno.test("time_zone dates read back with offsets and long text is refused", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const date = async (value: unknown) => {
      const res = await h.createPage(s, { Title: title("d"), Date: { date: value } });
      return {
        status: res.status,
        date: res.status === 200 ? (res.body.properties as Any).Date.date : res.body,
      };
    };
    assert.deepEqual(
      (await date({ start: "2026-12-01T09:00:00", time_zone: "Europe/Berlin" })).date,
      {
        start: "2026-12-01T09:00:00.000+01:00",
        end: null,
        time_zone: null,
      },
    );
    assert.deepEqual(
      (await date({
        start: "2026-07-01T09:00",
        end: "2026-07-01T10:30",
        time_zone: "Europe/Berlin",
      })).date,
      {
        start: "2026-07-01T09:00:00.000+02:00",
        end: "2026-07-01T10:30:00.000+02:00",
        time_zone: null,
      },
    );
    assert.deepEqual((await date({ start: "2026-12-01" })).date, {
      start: "2026-12-01",
      end: null,
      time_zone: null,
    });
    assert.equal(
      (await date({ start: "2026-12-01T09:00:00Z" })).date.start,
      "2026-12-01T09:00:00.000+00:00",
    );
    assert.equal(
      (await date({ start: "2026-12-01T09:00:00-05:00" })).date.start,
      "2026-12-01T09:00:00.000-05:00",
    );
    for (
      const bad of [
        { start: "2026-12-01T09:00:00+01:00", time_zone: "Europe/Berlin" },
        { start: "2026-12-01", time_zone: "Europe/Berlin" },
        { start: "2026-12-01T09:00:00", time_zone: "Mars/Base" },
        { start: "2026-13-01" },
        { end: "2026-12-01" },
      ]
    ) {
      const res = await date(bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.date.code, "validation_error");
    }
    const ok = await h.createPage(s, { Notes: text("x".repeat(2000)) });
    assert.equal(ok.status, 200);
    const long = await h.createPage(s, { Notes: text("x".repeat(2001)) });
    assert.equal(long.status, 400);
    assert.equal(long.body.code, "validation_error");
    assert.match(long.body.message as string, /2000/);
  });
});

// ---- OAuth -------------------------------------------------------------------------------

Deno.test("OAuth codes exchange once and refresh tokens rotate once", async () => {
  await withEmulator(async (h) => {
    const basic = `Basic ${btoa(`${CLIENT.id}:${CLIENT.secret}`)}`;
    const token = (body: unknown, auth = basic) =>
      call(`${h.emu.url}/v1/oauth/token`, {
        method: "POST",
        headers: { authorization: auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const code = await h.ctl("auth_codes", {
      redirect_uri: "https://app/cb",
      workspace_name: "Ada",
    });
    assert.equal(code.status, 201);
    const badClient = await token(
      { grant_type: "authorization_code", code: code.body.code },
      `Basic ${btoa("x:y")}`,
    );
    assert.equal(badClient.status, 401);
    assert.equal(badClient.body.error, "invalid_client");
    const wrongRedirect = await token({
      grant_type: "authorization_code",
      code: code.body.code,
      redirect_uri: "https://evil/cb",
    });
    assert.equal(wrongRedirect.body.error, "invalid_grant");
    const ok = await token({
      grant_type: "authorization_code",
      code: code.body.code,
      redirect_uri: "https://app/cb",
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, "bearer");
    assert.equal(ok.body.bot_id, code.body.bot_user_id);
    assert.equal(ok.body.workspace_id, code.body.workspace_id);
    assert.equal(ok.body.workspace_name, "Ada");
    assert.equal(ok.body.duplicated_template_id, null);
    assert.equal((ok.body.owner as Any).type, "user");
    for (const k of ["access_token", "refresh_token", "request_id"]) {
      assert.equal(typeof ok.body[k], "string", k);
    }
    const reused = await token({
      grant_type: "authorization_code",
      code: code.body.code,
      redirect_uri: "https://app/cb",
    });
    assert.equal(reused.body.error, "invalid_grant", "codes are single-use");

    const me = await h.api(ok.body.access_token as string, "GET", "users/me");
    assert.equal(me.body.id, ok.body.bot_id);
    assert.equal(me.body.type, "bot");

    const r1 = await token({ grant_type: "refresh_token", refresh_token: ok.body.refresh_token });
    assert.equal(r1.status, 200);
    assert.notEqual(r1.body.access_token, ok.body.access_token);
    assert.notEqual(r1.body.refresh_token, ok.body.refresh_token);
    const again = await token({
      grant_type: "refresh_token",
      refresh_token: ok.body.refresh_token,
    });
    assert.equal(again.status, 400);
    assert.deepEqual(again.body, { error: "invalid_grant" });
    const r2 = await token({ grant_type: "refresh_token", refresh_token: r1.body.refresh_token });
    assert.equal(r2.status, 200);
    assert.equal((await h.api(r2.body.access_token as string, "GET", "users/me")).status, 200);
    const counters = await h.ctl("counters");
    assert.equal(counters.body.refresh_token_reuse, 1);
    assert.equal((counters.body.counts as Any)["oauth.token"], 7);
  });
});

Deno.test("OAuth revoke ends the grant: its access tokens answer 401 and its refresh token is spent", async () => {
  await withEmulator(async (h) => {
    const basic = `Basic ${btoa(`${CLIENT.id}:${CLIENT.secret}`)}`;
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      call(`${h.emu.url}/v1/oauth/${path}`, {
        method: "POST",
        headers: { authorization: basic, "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const version = { "notion-version": "2025-09-03" };
    const code = await h.ctl("auth_codes", { workspace_name: "Ada" });
    const grant = await post("token", { grant_type: "authorization_code", code: code.body.code });
    const accessToken = grant.body.access_token as string;

    const unversioned = await post("revoke", { token: accessToken });
    assert.equal(unversioned.status, 400, "Notion-Version is required here");
    const badClient = await call(`${h.emu.url}/v1/oauth/revoke`, {
      method: "POST",
      headers: { authorization: `Basic ${btoa("x:y")}`, ...version },
      body: JSON.stringify({ token: accessToken }),
    });
    assert.equal(badClient.status, 401);
    assert.equal((await h.api(accessToken, "GET", "users/me")).status, 200, "still granted");

    const revoked = await post("revoke", { token: accessToken }, version);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.body.request_id, "string");
    assert.equal((await h.api(accessToken, "GET", "users/me")).status, 401);
    const refreshed = await post("token", {
      grant_type: "refresh_token",
      refresh_token: grant.body.refresh_token,
    });
    assert.deepEqual(refreshed.body, { error: "invalid_grant" });
    const again = await post("revoke", { token: accessToken }, version);
    assert.equal(again.status, 200, "revoking twice is no error");
    const missing = await post("revoke", {}, version);
    assert.equal(missing.status, 400);
  });
});

Deno.test("OAuth tokens expire by the clock when a ttl is set; internal never", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const pub = await h.ctl("integrations", { public: true });
    assert.equal(pub.body.kind, "public");
    assert.equal(typeof pub.body.refresh_token, "string");
    assert.equal((await h.api(pub.body.token as string, "GET", "users/me")).status, 200);
    await h.clock({ advanceSeconds: 3601 });
    assert.equal((await h.api(pub.body.token as string, "GET", "users/me")).status, 401);
    assert.equal((await h.api(s.token, "GET", "users/me")).status, 200);
  }, { accessTokenTtlSeconds: 3600 });
});

// ---- Webhooks ----------------------------------------------------------------------------

Deno.test("a subscription gets an unsigned token and no events until verified", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      const sub = await h.ctl("webhooks", { integration: s.integrationId, url: rx.url });
      assert.equal(sub.status, 201);
      assert.equal(rx.received.length, 1);
      const verification = JSON.parse(rx.received[0].body);
      assert.deepEqual(Object.keys(verification), ["verification_token"]);
      assert.match(verification.verification_token, /^secret_/);
      assert.equal(rx.received[0].headers.get("x-notion-signature"), null);
      const id = (sub.body.subscription as Any).id;
      assert.equal((sub.body.subscription as Any).status, "pending_verification");

      await h.createPage(s, { Title: title("unheard") });
      await h.emu.flushDeliveries();
      assert.equal(rx.received.length, 1, "unverified subscriptions get no events");

      await h.ctl(`webhooks/${id}/resend_token`, {});
      assert.equal(
        JSON.parse(rx.received[1].body).verification_token,
        verification.verification_token,
      );
      const wrong = await h.ctl(`webhooks/${id}/verify`, { verification_token: "secret_wrong" });
      assert.equal(wrong.status, 400);
      const ok = await h.ctl(`webhooks/${id}/verify`, verification);
      assert.equal(ok.body.status, "active");
      await h.createPage(s, { Title: title("heard") });
      await h.emu.flushDeliveries();
      assert.deepEqual(rx.events().map((e) => e.type), [
        "page.created",
        "data_source.content_updated",
      ]);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("deliveries are HMAC-signed and carry ids, not values", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      const { id: subId, token } = await subscribe(h, s, rx.url, rx.received, {
        event_types: ["page.created", "page.properties_updated", "page.deleted", "page.undeleted"],
      });
      const page = await h.createPage(s, { Title: title("Run") });
      const pageId = page.body.id as string;
      await h.ctl(`pages/${pageId}`, { properties: { Notes: "n", Location: "x" } }, "PATCH");
      await h.ctl(`pages/${pageId}`, { in_trash: true }, "PATCH");
      await h.api(s.token, "PATCH", `pages/${pageId}`, { in_trash: false });
      await h.emu.flushDeliveries();
      const signed = rx.received.filter((r) => r.headers.has("x-notion-signature"));
      assert.equal(signed.length, 4);
      for (const d of signed) {
        assert.equal(d.headers.get("content-type"), "application/json");
        assert.equal(d.headers.get("x-notion-signature"), `sha256=${await hmacHex(token, d.body)}`);
      }
      const events = rx.events();
      assert.deepEqual(events.map((e) => e.type), [
        "page.created",
        "page.properties_updated",
        "page.deleted",
        "page.undeleted",
      ]);
      const [created, updated, deleted, undeleted] = events;
      assert.equal(created.subscription_id, subId);
      assert.equal(created.integration_id, s.integrationId);
      assert.equal(created.workspace_id, s.workspaceId);
      assert.equal(created.attempt_number, 1);
      assert.deepEqual(created.entity, { id: pageId, type: "page" });
      assert.deepEqual(created.data.parent, { id: s.db, type: "database", data_source_id: s.ds });
      assert.deepEqual(created.authors, [{ id: s.bot, type: "bot" }]);
      assert.deepEqual(updated.authors, [{
        id: "c0ffee00-0000-4000-8000-000000000001",
        type: "person",
      }]);
      const schema = (await h.api(s.token, "GET", `data_sources/${s.ds}`)).body.properties as Any;
      assert.deepEqual(
        updated.data.updated_properties.sort(),
        [schema.Notes.id, schema.Location.id].sort(),
      );
      assert.equal(JSON.stringify(updated).includes('"n"'), false, "no values in events");
      assert.equal(deleted.authors[0].type, "person");
      assert.equal(undeleted.authors[0].type, "bot");
      assert.equal(new Set(events.map((e) => e.id)).size, 4);
      assert.ok(!Number.isNaN(Date.parse(created.timestamp)));
    });
  } finally {
    await rx.close();
  }
});

Deno.test("aggregation merges same-entity events and unions their authors", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      await subscribe(h, s, rx.url, rx.received, { event_types: ["page.properties_updated"] });
      const page = await h.createPage(s, { Title: title("a") });
      const other = await h.createPage(s, { Title: title("b") });
      await h.api(s.token, "PATCH", `pages/${page.body.id}`, { properties: { Notes: text("1") } });
      await h.ctl(`pages/${page.body.id}`, { properties: { Location: "2" } }, "PATCH");
      await h.api(s.token, "PATCH", `pages/${other.body.id}`, { properties: { Notes: text("3") } });
      assert.equal(rx.events().length, 0, "held during the window");
      await h.emu.flushDeliveries();
      const events = rx.events();
      assert.equal(events.length, 2);
      const merged = events.find((e) => e.entity.id === page.body.id);
      assert.deepEqual(merged.authors.map((a: Any) => a.type).sort(), ["bot", "person"]);
      assert.equal(merged.data.updated_properties.length, 2);
    }, { aggregationWindowMs: 5000 });
  } finally {
    await rx.close();
  }
});

Deno.test("reorder shuffles batches reproducibly and drops lose events", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      await subscribe(h, s, rx.url, rx.received, { event_types: ["page.created"] });
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) {
        ids.push((await h.createPage(s, { Title: title(`p${i}`) })).body.id as string);
      }
      await h.emu.flushDeliveries();
      const order = rx.events().map((e) => e.entity.id);
      assert.deepEqual([...order].sort(), [...ids].sort(), "all delivered");
      assert.notDeepEqual(order, ids, "not in creation order");
      const permutation = order.map((id) => ids.indexOf(id));

      // After a reset the same seed shuffles the same way.
      await h.ctl("reset", {});
      const s2 = await h.setup();
      rx.received.length = 0;
      await subscribe(h, s2, rx.url, rx.received, { event_types: ["page.created"] });
      const ids2: string[] = [];
      for (let i = 0; i < 8; i++) {
        ids2.push((await h.createPage(s2, { Title: title(`p${i}`) })).body.id as string);
      }
      await h.emu.flushDeliveries();
      assert.deepEqual(rx.events().map((e) => ids2.indexOf(e.entity.id)), permutation);

      await h.ctl("config", { reorder: false });
      const drops = await h.ctl("drops", { next: 2 });
      assert.equal(drops.body.next, 2);
      rx.received.length = 0;
      for (let i = 0; i < 3; i++) await h.createPage(s2, { Title: title(`q${i}`) });
      await h.emu.flushDeliveries();
      assert.equal(rx.events().length, 1);
      const log = await h.ctl("deliveries?type=page.created");
      const outcomes = (log.body.deliveries as Any[]).slice(-3).map((d) => d.outcome);
      assert.deepEqual(outcomes, ["dropped", "dropped", "delivered"]);
    }, { reorder: true, deliveryDelayMs: 10_000, seed: 7 });
  } finally {
    await rx.close();
  }
});

Deno.test("failed deliveries retry with attempt_number and redeliver verbatim", async () => {
  // Verification POST answers 200; the event fails 3 times, then succeeds.
  const rx = startReceiver((n) => (n === 1 || n >= 5 ? 200 : 500));
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      const { token } = await subscribe(h, s, rx.url, rx.received, {
        event_types: ["page.created"],
      });
      await h.createPage(s, { Title: title("retry me") });
      await h.emu.flushDeliveries();
      const attempts = rx.received.slice(1).map((r) => JSON.parse(r.body));
      assert.deepEqual(attempts.map((e) => e.attempt_number), [1, 2, 3, 4]);
      assert.equal(new Set(attempts.map((e) => e.id)).size, 1, "same event id on every attempt");
      for (const r of rx.received.slice(1)) {
        assert.equal(r.headers.get("x-notion-signature"), `sha256=${await hmacHex(token, r.body)}`);
      }
      const log = (await h.ctl("deliveries")).body.deliveries as Any[];
      const rec = log.find((d) => d.kind === "event");
      assert.equal(rec.outcome, "delivered");
      assert.equal(rec.attempts.length, 4);

      const again = await h.ctl(`deliveries/${rec.index}/redeliver`, {
        times: 2,
        concurrent: true,
      });
      assert.equal(again.status, 200);
      const replays = rx.received.slice(-2);
      for (const r of replays) {
        assert.equal(r.body, rx.received[1].body);
        assert.equal(
          r.headers.get("x-notion-signature"),
          rx.received[1].headers.get("x-notion-signature"),
        );
      }
    }, { retryBaseMs: 1 });
  } finally {
    await rx.close();
  }
});

Deno.test("a receiver that never succeeds sees exactly 8 attempts", async () => {
  const rx = startReceiver((n) => (n === 1 ? 200 : 503));
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      await subscribe(h, s, rx.url, rx.received, { event_types: ["page.created"] });
      await h.createPage(s, { Title: title("doomed") });
      await h.emu.flushDeliveries();
      const numbers = rx.received.slice(1).map((r) => JSON.parse(r.body).attempt_number);
      assert.deepEqual(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
      const rec = ((await h.ctl("deliveries")).body.deliveries as Any[]).find((d) =>
        d.kind === "event"
      );
      assert.equal(rec.outcome, "failed");
    }, { retryBaseMs: 1 });
  } finally {
    await rx.close();
  }
});

Deno.test("people editing a page body or moving it fire content_updated and moved", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      const second = await h.ctl(`databases/${s.db}/data_sources`, { name: "Archive" });
      await subscribe(h, s, rx.url, rx.received);
      const page = await h.createPage(s, { Title: title("Run"), Notes: text("keep") });
      const id = page.body.id as string;
      await h.emu.flushDeliveries();
      rx.received.length = 0;
      assert.equal((await h.ctl(`pages/${id}/content`, {})).status, 200);
      const moved = await h.ctl(`pages/${id}/move`, { data_source_id: second.body.data_source_id });
      assert.equal(moved.status, 200);
      await h.emu.flushDeliveries();
      const events = rx.events();
      assert.deepEqual(events.map((e) => e.type), [
        "page.content_updated",
        "page.moved",
        "data_source.content_updated",
        "data_source.content_updated",
      ]);
      assert.equal(events[0].data.updated_blocks.length, 1);
      assert.equal(events[1].data.parent.data_source_id, second.body.data_source_id);
      assert.deepEqual(
        events.slice(2).map((e) => e.entity.id).sort(),
        [s.ds, second.body.data_source_id].sort(),
      );
      const after = await h.api(s.token, "GET", `pages/${id}`);
      assert.equal((after.body.parent as Any).data_source_id, second.body.data_source_id);
      assert.equal((after.body.properties as Any).Notes.rich_text[0].plain_text, "keep");
    });
  } finally {
    await rx.close();
  }
});

// ---- Rate limits and faults --------------------------------------------------------------

Deno.test("beyond the burst requests get 429 with Retry-After, counted", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    await h.clock({ set: "2026-02-01T00:00:00Z", freeze: true });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 8; i++) {
      const res = await h.api(s.token, "GET", `databases/${s.db}`);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get("retry-after");
        assert.equal(res.body.code, "rate_limited");
      }
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    assert.equal(retryAfter, "1");
    await h.clock({ advanceMs: 1000 }); // refills 3 tokens
    const after = [];
    for (let i = 0; i < 4; i++) {
      after.push((await h.api(s.token, "GET", `databases/${s.db}`)).status);
    }
    assert.deepEqual(after, [200, 200, 200, 429]);
    const c = await h.ctl("counters");
    assert.equal((c.body.rate_limited as Any)[s.bot], 3);
    assert.equal((c.body.max_requests_per_second as Any)[s.bot], 6);
    assert.equal((c.body.max_attempts_per_second as Any)[s.bot], 8);
    assert.equal((c.body.counts as Any)["databases.retrieve"], 12);
    await h.ctl("counters/reset", {});
    assert.deepEqual((await h.ctl("counters")).body.rate_limited, {});
  }, { rateLimitPerSecond: 3, rateLimitBurst: 6 });
});

Deno.test("a 529 fault answers service_overload before authentication", async () => {
  await withEmulator(async (h) => {
    const s = await h.setup();
    const rule = await h.ctl("faults", {
      operation: "data_sources.query",
      status: 529,
      retryAfterSeconds: 3,
      times: 1,
      skip: 1,
    });
    assert.equal(rule.status, 200);
    assert.equal((await h.query(s)).status, 200, "skip lets the first one through");
    const faulted = await h.api(null, "POST", `data_sources/${s.ds}/query`, {});
    assert.equal(faulted.status, 529);
    assert.equal(faulted.body.code, "service_overload");
    assert.equal(faulted.body.object, "error");
    assert.equal(faulted.headers.get("retry-after"), "3");
    assert.equal((await h.query(s)).status, 200, "the rule is used up");
    await h.ctl("latency", { ms: 60 });
    const started = performance.now();
    assert.equal((await h.query(s)).status, 200);
    assert.ok(performance.now() - started >= 55, "latency applies to API calls");
    await h.ctl("latency", { ms: 0 });
    await h.ctl("faults", { path: "/v1/pages", status: 503 });
    const unavailable = await h.createPage(s, { Title: title("x") });
    assert.equal(unavailable.body.code, "service_unavailable");
    assert.equal(((await h.ctl("faults")).body.rules as Any[]).length, 0);
  });
});

Deno.test("seeding is silent, person pages fire events, reset wipes all", async () => {
  const rx = startReceiver();
  try {
    await withEmulator(async (h) => {
      const s = await h.setup();
      await subscribe(h, s, rx.url, rx.received, { event_types: ["page.created"] });
      const seeded = await h.ctl("seed", {
        data_source_id: s.ds,
        count: 4,
        from: "2026-05-01T06:00:00Z",
        spacing_minutes: 30,
        duration_minutes: 20,
        dated_ratio: 0.5,
      });
      assert.equal(seeded.body.created, 4);
      const person = await h.ctl("pages", {
        data_source_id: s.ds,
        properties: { title: "Yoga", date: { start: "2026-05-02T07:00:00Z" }, notes: "mat" },
      });
      assert.equal(person.status, 201);
      await h.emu.flushDeliveries();
      const events = rx.events();
      assert.equal(events.length, 1);
      assert.equal(events[0].entity.id, person.body.id);
      assert.equal(events[0].authors[0].type, "person");
      const all = (await h.query(s)).body.results as Any[];
      assert.equal(all.length, 5);
      assert.equal(all.filter((p) => p.properties.Date.date !== null).length, 3);

      await h.ctl("reset", {});
      assert.equal((await h.api(s.token, "GET", `databases/${s.db}`)).status, 401);
      assert.deepEqual((await h.ctl("webhooks")).body.subscriptions, []);
    });
  } finally {
    await rx.close();
  }
});

Deno.test("the CLI prints one URL line and exits cleanly on SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL("./main.ts", import.meta.url).pathname, "--port", "0"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  const m = /^NOTION_EMULATOR_URL=(http:\/\/127\.0\.0\.1:\d+)\n$/.exec(out);
  assert.ok(m, `unexpected output: ${out}`);
  const health = await call(`${m[1]}/__emulator/health`);
  assert.equal(health.status, 200);
  child.kill("SIGTERM");
  const status = await child.status;
  assert.equal(status.code, 0);
  const rest = await reader.read();
  assert.equal(rest.done ? "" : rest.value, "");
  reader.releaseLock();
  await child.stderr.cancel();
});
