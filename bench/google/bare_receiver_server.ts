// The receiver benchmark's baselines: the least a push receiver can do, in a bare `Deno.serve`
// (no gateway, no PostgREST, no framework), talking to PostgreSQL through `postgres` (pool 4).
//   deno run -A bench/google/bare_receiver_server.ts   (needs DB_URL; prints "listening on <port>")
//
//   POST /      load baseline: ONE statement per notification that looks the channel up by its
//               unique (indexed) channel id in public.calendar_webhook_channels and durably marks
//               its calendar (an upsert into bench.bare_marks, so the project's own sync state is
//               left alone), then 200. No token or resource check, no background work.
//   POST /push  propagation baseline: Google's real push deliveries for one calendar the bench
//               watches; answers 200 at once, then lists the changes with the sync token (every
//               page) and writes each page to bench.bare_events in one statement. At most one
//               list runs at a time; pushes meanwhile cause exactly one more.
//   POST /propagation/setup {access_token, calendar_id, emulator_url}: the full list that
//               yields the first sync token.
import postgres from "postgres";

const dbUrl = Deno.env.get("DB_URL");
if (!dbUrl) throw new Error("DB_URL is not set");
const POOL = Number(Deno.env.get("BENCH_BARE_POOL") ?? 4);
const sql = postgres(dbUrl, { max: POOL, onnotice: () => {} });

interface Watched {
  accessToken: string;
  calendarId: string;
  emulatorUrl: string;
  syncToken: string;
}
let watched: Watched | null = null;
let listing: Promise<void> | null = null;
let listAgain = false;

interface ListedEvent {
  id: string;
  status?: string;
  start?: { dateTime?: string };
  end?: { dateTime?: string };
}

/** Every page of events.list from `from` (a sync token, or null for the first full list). */
async function listPages(
  w: Watched,
  from: string | null,
  onPage: (items: ListedEvent[]) => unknown,
) {
  let pageToken: string | undefined;
  for (;;) {
    const url = new URL(
      `calendar/v3/calendars/${encodeURIComponent(w.calendarId)}/events`,
      `${w.emulatorUrl}/`,
    );
    url.searchParams.set("maxResults", "2500");
    if (pageToken) url.searchParams.set("pageToken", pageToken);
    else if (from) url.searchParams.set("syncToken", from);
    const response = await fetch(url, { headers: { authorization: `Bearer ${w.accessToken}` } });
    const body = await response.json();
    if (!response.ok) throw new Error(`events.list → ${response.status}: ${JSON.stringify(body)}`);
    await onPage(body.items ?? []);
    if (body.nextPageToken) {
      pageToken = body.nextPageToken;
      continue;
    }
    return body.nextSyncToken as string;
  }
}

async function storePage(items: ListedEvent[]) {
  if (items.length === 0) return;
  const rows = items.map((event) => ({
    id: event.id,
    starts_at: event.start?.dateTime ?? null,
    ends_at: event.end?.dateTime ?? null,
    cancelled: event.status === "cancelled",
  }));
  await sql`with incoming as (
      select * from json_to_recordset(${sql.json(rows)}::json)
        as x(id text, starts_at timestamptz, ends_at timestamptz, cancelled boolean)),
    gone as (
      delete from bench.bare_events e using incoming i where e.id = i.id and i.cancelled)
    insert into bench.bare_events (id, starts_at, ends_at)
    select id, starts_at, ends_at from incoming where not cancelled
    on conflict (id) do update set starts_at = excluded.starts_at, ends_at = excluded.ends_at`;
}

function syncWatched() {
  if (listing) {
    listAgain = true;
    return;
  }
  listing = (async () => {
    do {
      listAgain = false;
      const w = watched!;
      w.syncToken = await listPages(w, w.syncToken, storePage);
    } while (listAgain);
  })().catch((error) => console.error(`[bare] sync failed: ${error}`)).finally(() => {
    listing = null;
  });
}

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on ${port}`),
}, async (request) => {
  const path = new URL(request.url).pathname;
  if (path === "/push") {
    if (watched && request.headers.get("x-goog-resource-state") === "exists") syncWatched();
    return new Response(null, { status: 200 });
  }
  if (path === "/propagation/setup") {
    const body = await request.json();
    const w: Watched = {
      accessToken: body.access_token,
      calendarId: body.calendar_id,
      emulatorUrl: body.emulator_url,
      syncToken: "",
    };
    w.syncToken = await listPages(w, null, () => {});
    watched = w;
    return Response.json({ status: "watching" });
  }
  const channelId = request.headers.get("x-goog-channel-id") ?? "";
  const marked = await sql`insert into bench.bare_marks (connection_id, calendar_id, marked_at)
    select connection_id, calendar_id, now() from public.calendar_webhook_channels
    where channel_id = ${channelId}
    on conflict (connection_id, calendar_id) do update set marked_at = excluded.marked_at
    returning connection_id`;
  return Response.json({ status: marked.length > 0 ? "marked" : "ignored" });
});

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await listing;
  await sql.end();
  Deno.exit(0);
});
