// Write-back to Notion end to end, through the gateway against the Notion emulator: planned
// blocks appear as pages in the followed database; a meeting (a person's dated page) moving a
// session patches that session's page and nothing else; our own pages coming back are echo; a
// person re-dating our page locks the session there, trashing it re-plans the block; Notion's
// rate limit is honoured and faults leave no duplicate page.
import assert from "node:assert/strict";
import {
  callFunction,
  connectDb,
  createUser,
  eventually,
  type Sql,
  type TestUser,
} from "../../devkit/stack.ts";
import {
  addPage,
  connectNotion,
  createNotionWorkspace,
  editPage,
  notion,
  type NotionWorkspace,
} from "../../devkit/notion.ts";
import { planAroundTheClock, replan } from "../../devkit/planning.ts";

const HOUR = 3_600_000;

interface Planner {
  user: TestUser;
  ws: NotionWorkspace;
  connectionId: string;
}

interface TruthPage {
  id: string;
  created_by: { id: string };
  properties: {
    Title: { title: { plain_text: string }[] };
    Date: { date: { start: string; end: string | null } | null };
    Notes: { rich_text: { plain_text: string }[] };
  };
}

async function plannerWithSessions(sql: Sql, label: string, sessions: number): Promise<Planner> {
  const user = await createUser(sql, label);
  await planAroundTheClock(sql, user.id);
  for (let i = 0; i < sessions; i++) {
    await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
        earliest_start)
      values (${user.id}, ${"Session " + i}, 60, ${i}, ${new Date(Date.now() + 2 * HOUR)})`;
  }
  const ws = await createNotionWorkspace(label);
  const setup = await connectNotion(user, ws, { write_back: true });
  assert.equal(setup.data_source.write_back, true);
  return { user, ws, connectionId: setup.connection.id };
}

async function ourPages(planner: Planner): Promise<TruthPage[]> {
  const { pages } = await notion<{ pages: TruthPage[] }>(
    `/data_sources/${planner.ws.dataSourceId}/pages`,
  );
  return pages.filter((page) => page.created_by.id === planner.ws.bot);
}

async function blocks(sql: Sql, userId: string) {
  return await sql`select b.session_id, b.block_key, b.starts_at, b.ends_at, s.locked, s.title
    from public.session_blocks b join public.sessions s on s.id = b.session_id
    where b.user_id = ${userId} and s.status = 'scheduled' order by b.starts_at`;
}

/** What the user's "Refresh now" does: sync their calendars at once (else the 2-minute poll). */
function refresh(user: TestUser) {
  return callFunction("refresh-calendar-webhook", user.jwt);
}

/** The database holds exactly one page of ours per scheduled block, at its time. */
async function databaseMatchesPlan(sql: Sql, planner: Planner): Promise<boolean> {
  const [pages, rows] = await Promise.all([ourPages(planner), blocks(sql, planner.user.id)]);
  if (pages.length !== rows.length) return false;
  return rows.every((row) =>
    pages.some((page) =>
      page.properties.Notes.rich_text.map((part) => part.plain_text).join("")
        .includes(`calendar-sync:${row.block_key}`) &&
      Date.parse(page.properties.Date.date!.start) === row.starts_at.getTime() &&
      Date.parse(page.properties.Date.date!.end!) === row.ends_at.getTime()
    )
  );
}

/** Page writes at the emulator so far (its counters are shared: compare before and after). */
async function pageWrites(): Promise<{ create: number; update: number }> {
  const { counts } = await notion<{ counts: Record<string, number> }>("/counters");
  return { create: counts["pages.create"] ?? 0, update: counts["pages.update"] ?? 0 };
}

Deno.test("planned blocks become pages in the Notion database; a meeting moves one session's page only", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "notion-wb", 3);
    const planned = await replan(planner.user);
    assert.equal(planned.status, 200, JSON.stringify(planned.body));
    await eventually(() => databaseMatchesPlan(sql, planner), {
      timeoutMs: 20_000,
      message: "one page per planned block",
    });
    const pages = await ourPages(planner);
    assert.equal(pages.length, 3);
    assert.match(pages[0].properties.Title.title[0].plain_text, /^Session \d$/);

    // Our own pages come back through the sync (the poll; a refresh here): not busy time.
    await refresh(planner.user);
    await eventually(async () => {
      const [row] = await sql`select count(*)::int as n from public.calendar_events
        where connection_id = ${planner.connectionId} and app_owned`;
      return row.n === 3;
    }, { message: "our pages mirrored as app-owned" });
    const [busy] = await sql`select count(*)::int as n from public.busy_intervals
      where user_id = ${planner.user.id}`;
    assert.equal(busy.n, 0, "our own blocks are not busy time");

    // A person's dated page lands on the first session: that session moves, its page follows.
    const before = await blocks(sql, planner.user.id);
    const first = before[0];
    const writesBefore = await pageWrites();
    await addPage(planner.ws, "Dentist", {
      start: first.starts_at.toISOString(),
      end: first.ends_at.toISOString(),
    });
    // The poll (or the webhook) brings the page in; a refresh makes it immediate here.
    await refresh(planner.user);
    await eventually(async () => {
      const after = await blocks(sql, planner.user.id);
      const moved = after.find((row) => row.session_id === first.session_id);
      return moved && moved.starts_at.getTime() !== first.starts_at.getTime();
    }, { timeoutMs: 20_000, message: "the displaced session moved" });
    await eventually(() => databaseMatchesPlan(sql, planner), {
      timeoutMs: 20_000,
      message: "its page moved with it",
    });
    const writesAfter = await pageWrites();
    assert.equal(writesAfter.create - writesBefore.create, 0, "no page created");
    assert.equal(writesAfter.update - writesBefore.update, 1, "exactly one page patched");
  } finally {
    await sql.end();
  }
});

Deno.test("a person re-dating our page locks the session there; trashing it re-plans the block", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "notion-edit", 2);
    await replan(planner.user);
    await eventually(() => databaseMatchesPlan(sql, planner), {
      timeoutMs: 20_000,
      message: "pages written",
    });
    const [target, other] = await blocks(sql, planner.user.id);
    const page = (await ourPages(planner)).find((candidate) =>
      candidate.properties.Notes.rich_text.map((part) => part.plain_text).join("")
        .includes(target.block_key)
    )!;
    const newStart = new Date(target.starts_at.getTime() + 30 * HOUR);
    await editPage(page.id, {
      properties: {
        date: {
          start: newStart.toISOString(),
          end: new Date(newStart.getTime() + HOUR).toISOString(),
        },
      },
    });
    await refresh(planner.user);
    await eventually(async () => {
      const rows = await blocks(sql, planner.user.id);
      const row = rows.find((candidate) => candidate.session_id === target.session_id);
      return row && row.locked && row.starts_at.getTime() === newStart.getTime();
    }, { timeoutMs: 20_000, message: "the session locked at the person's time" });

    // Trashing the other session's page: that block is planned again (after its old time).
    const otherPage = (await ourPages(planner)).find((candidate) =>
      candidate.properties.Notes.rich_text.map((part) => part.plain_text).join("")
        .includes(other.block_key)
    )!;
    await editPage(otherPage.id, { in_trash: true });
    await refresh(planner.user);
    await eventually(async () => {
      const [row] = await sql`select earliest_start from public.sessions
        where id = ${other.session_id}`;
      return row.earliest_start && row.earliest_start.getTime() >= other.ends_at.getTime();
    }, { timeoutMs: 20_000, message: "the trashed block is not planned at that time again" });
    await eventually(() => databaseMatchesPlan(sql, planner), {
      timeoutMs: 20_000,
      message: "the database follows the plan again",
    });
  } finally {
    await sql.end();
  }
});

Deno.test("disconnecting Notion moves our pages to the trash; the person's pages stay", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "notion-disconnect", 2);
    await addPage(planner.ws, "Team offsite", {
      start: new Date(Date.now() + 72 * HOUR).toISOString(),
      end: new Date(Date.now() + 74 * HOUR).toISOString(),
    });
    await replan(planner.user);
    await eventually(() => databaseMatchesPlan(sql, planner), {
      timeoutMs: 20_000,
      message: "pages written",
    });
    const all = async () =>
      (await notion<{ pages: TruthPage[] }>(`/data_sources/${planner.ws.dataSourceId}/pages`))
        .pages;
    assert.equal((await all()).length, 3, "the person's page and our two");

    const done = await callFunction("disconnect-calendar", planner.user.jwt, {
      connection_id: planner.connectionId,
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const left = await eventually(async () => {
      const pages = await all();
      return pages.length === 1 && pages;
    }, { timeoutMs: 20_000, message: "our pages trashed" });
    assert.notEqual(left[0].created_by.id, planner.ws.bot, "the one left is the person's");
    // The item completes just after its last removal.
    const release = await eventually(async () => {
      const [row] = await sql`select status, note from public.outbound_queue
        where operation = 'revoke_token' and connection_id = ${planner.connectionId}`;
      return row?.status === "COMPLETED" && row;
    }, { message: "the release completed" });
    assert.match(release.note, /^released: 2 written item\(s\) removed, .*left to the person/);
  } finally {
    await sql.end();
  }
});

Deno.test("Notion's rate limit is honoured and faults leave no duplicate page", async () => {
  const sql = connectDb();
  try {
    const planner = await plannerWithSessions(sql, "notion-faults", 6);
    // Creates fail once with a 429 (Retry-After 1 s) and once with a 503.
    await notion("/faults", {
      rules: [
        { method: "POST", path: "/v1/pages", status: 429, times: 1, retryAfterSeconds: 1 },
        { method: "POST", path: "/v1/pages", status: 503, times: 1, skip: 2 },
      ],
    });
    try {
      await replan(planner.user);
      await eventually(() => databaseMatchesPlan(sql, planner), {
        timeoutMs: 40_000,
        message: "every block written despite the faults",
      });
    } finally {
      await notion("/faults", undefined, "DELETE");
    }
    assert.equal((await ourPages(planner)).length, 6, "no duplicate page");
    // Beyond the injected 429, Notion's own limiter (3 per second on average, bursts of 6)
    // never had to refuse the integration.
    const { rate_limited } = await notion<{ rate_limited: Record<string, number> }>("/counters");
    assert.equal(rate_limited[planner.ws.bot] ?? 0, 0, JSON.stringify(rate_limited));
  } finally {
    await sql.end();
  }
});
