// The Calendly webhook benchmark's baseline: a bare `Deno.serve` that verifies the same
// signature (hex HMAC-SHA256 of "t.body" with one key) and inserts one row per delivery through
// `postgres` with a small pool, then answers 200. No deduplication, no meeting or invitee, no
// plan mark, no gateway.
//   deno run -A bench/calendly/bare_signed_insert_server.ts  (needs DB_URL and BARE_SIGNING_KEY)
import postgres from "postgres";
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";

const dbUrl = Deno.env.get("DB_URL");
const signingKey = Deno.env.get("BARE_SIGNING_KEY");
if (!dbUrl || !signingKey) throw new Error("DB_URL and BARE_SIGNING_KEY must be set");
const sql = postgres(dbUrl, { max: 4, onnotice: () => {} });
const key = await crypto.subtle.importKey(
  "raw",
  new TextEncoder().encode(signingKey),
  { name: "HMAC", hash: "SHA-256" },
  false,
  ["sign"],
);

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on ${port}`),
}, async (request) => {
  const raw = await request.text();
  const header = request.headers.get("calendly-webhook-signature") ?? "";
  const t = /t=(\d+)/.exec(header)?.[1];
  const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1];
  if (!t || !v1) return new Response(null, { status: 401 });
  const mac = Buffer.from(
    await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${raw}`)),
  );
  if (!timingSafeEqual(mac, Buffer.from(v1, "hex"))) return new Response(null, { status: 401 });
  const body = JSON.parse(raw);
  await sql`insert into bench.bare_meetings (uri) values (${body.payload.scheduled_event.uri})
    on conflict do nothing`;
  return new Response(null, { status: 200 });
});

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  await sql.end();
  Deno.exit(0);
});
