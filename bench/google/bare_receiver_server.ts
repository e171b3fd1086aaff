// The receiver benchmark's baseline: a bare `Deno.serve` that does one indexed lookup of the
// channel per request (`calendar_webhook_channels.channel_id` is unique, hence indexed) through
// `postgres` with a small pool, and answers 200. No token check, no write, no background work.
//   deno run -A bench/google/bare_lookup_server.ts   (needs DB_URL; prints "listening on <port>")
import postgres from "postgres";

const dbUrl = Deno.env.get("DB_URL");
if (!dbUrl) throw new Error("DB_URL is not set");
const POOL = Number(Deno.env.get("BENCH_BARE_POOL") ?? 4);
const sql = postgres(dbUrl, { max: POOL, onnotice: () => {} });

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on ${port}`),
}, async (request) => {
  const channelId = request.headers.get("x-goog-channel-id") ?? "";
  const rows = await sql`select id from public.calendar_webhook_channels
    where channel_id = ${channelId}`;
  return Response.json({ status: rows.length > 0 ? "known" : "unknown" });
});

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await sql.end();
  Deno.exit(0);
});
