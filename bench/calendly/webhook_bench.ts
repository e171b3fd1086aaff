/**
 * Calendly: webhook delivery → meeting row, beside a bare baseline, and the data an incremental
 * sync fetches against a full one. Needs a running stack; run it through `make bench`.
 * Informational only: it never asserts on time.
 *
 * 1. Delivery latency: N bookings made in the Calendly emulator (one at a time). Project: a user
 *    connected through setup-calendar-webhook; each booking is delivered, signed, through the
 *    gateway to calendly-webhook (signature check, dedupe, meeting + invitee upsert, plan mark in
 *    one SQL call). Baseline: another Calendly user whose subscription points at
 *    bare_signed_insert_server.ts (same signature check, one INSERT). Timed from the booking to
 *    the row being visible in the database (polled every 2 ms).
 * 2. Data fetched: a user with the seed's history (150 active and 25 canceled meetings, about 20
 *    of them inside the incremental window): meetings listed by the FULL sync at setup against
 *    the INCREMENTAL sync of a manual refresh (the seed claims 84 % less).
 *
 * Env knobs: BENCH_CALENDLY_BOOKINGS (50).
 */
import { callFunction, connectDb, createUser, stack } from "../../devkit/stack.ts";
import { calendly, connectCalendly, createCalendlyAccount } from "../../devkit/calendly.ts";
import { fmt, int, percentile, ratio, table } from "../support.ts";

const N = Number(Deno.env.get("BENCH_CALENDLY_BOOKINGS") ?? 50);
const BARE_KEY = "bench-bare-signing-key";
const DAY = 86_400_000;

async function startBare(): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("./bare_signed_insert_server.ts", import.meta.url).pathname,
    ],
    env: { DB_URL: stack.dbUrl, BARE_SIGNING_KEY: BARE_KEY },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  while (!/listening on (\d+)/.test(buffered)) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the bare server exited");
    buffered += value;
  }
  const port = /listening on (\d+)/.exec(buffered)![1];
  return {
    url: `http://127.0.0.1:${port}/`,
    stop: async () => {
      child.kill("SIGTERM");
      reader.releaseLock();
      await child.status;
    },
  };
}

async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the row");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function deliveries(
  user: string,
  visible: (uri: string) => Promise<boolean>,
): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < N; i++) {
    const start = new Date(Date.now() + (2 + i) * DAY + 10 * 3_600_000);
    const t0 = performance.now();
    const booked = await calendly<{ event: { uri: string } }>("/bookings", {
      user,
      start_time: start.toISOString(),
      duration_minutes: 30,
      invitee: { email: `guest-${i}@example.test` },
    });
    await until(() => visible(booked.event.uri));
    latencies.push(performance.now() - t0);
  }
  return latencies;
}

async function main() {
  const sql = connectDb();
  const bare = await startBare();
  try {
    await sql`create schema if not exists bench`;
    await sql`create table if not exists bench.bare_meetings (uri text primary key,
      received_at timestamptz not null default now())`;

    // The project: a connected user.
    const user = await createUser(sql, "bench-calendly");
    const account = await createCalendlyAccount(user);
    await connectCalendly(user, account);
    const project = await deliveries(
      account.uri,
      async (uri) =>
        (await sql`select 1 from public.calendar_events where external_id = ${uri}`).length > 0,
    );

    // The baseline: a Calendly user whose subscription points at the bare server.
    const other = await calendly<{ uri: string; organization: string; refresh_token: string }>(
      "/users",
      { email: `bench-bare-${crypto.randomUUID().slice(0, 6)}@example.test` },
    );
    const token = await fetch(`${stack.calendlyEmulatorUrl}/oauth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${
          btoa("emulator-calendly-client-id:emulator-calendly-client-secret")
        }`,
      },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: other.refresh_token,
      }),
    }).then((r) => r.json());
    const created = await fetch(`${stack.calendlyEmulatorUrl}/webhook_subscriptions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token.access_token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        url: bare.url,
        events: ["invitee.created", "invitee.canceled"],
        organization: other.organization,
        user: other.uri,
        scope: "user",
        signing_key: BARE_KEY,
      }),
    });
    if (created.status !== 201) throw new Error(`subscription → ${created.status}`);
    await created.body?.cancel();
    const baseline = await deliveries(
      other.uri,
      async (uri) => (await sql`select 1 from bench.bare_meetings where uri = ${uri}`).length > 0,
    );

    console.log(`Calendly booking → row visible in the database, ${N} bookings one at a time\n`);
    const row = (label: string, p: number) => [
      label,
      fmt(percentile(project, p)),
      fmt(percentile(baseline, p)),
      ratio(percentile(project, p), percentile(baseline, p)),
    ];
    console.log(table(
      [
        "latency (ms)",
        "project (gateway → calendly-webhook)",
        "baseline (bare verify + INSERT)",
        "project / baseline",
      ],
      [row("p50", 50), row("p95", 95), row("max", 100)],
    ));

    // Data fetched: full at setup vs incremental at a manual refresh.
    const history = await createUser(sql, "bench-calendly-history");
    const historyAccount = await createCalendlyAccount(history);
    const now = Date.now();
    const events = [];
    for (let i = 0; i < 175; i++) {
      const inWindow = i >= 155;
      const offset = inWindow
        ? (-60 + (i - 155) * 8) * DAY
        : i < 145
        ? -(100 + i * 4) * DAY
        : (200 + i) * DAY;
      events.push({
        start_time: new Date(now + offset).toISOString(),
        duration_minutes: 30,
        ...((i < 155 && i % 7 === 0) || i === 158 || i === 166 ? { status: "canceled" } : {}),
      });
    }
    await calendly("/seed", { user: historyAccount.uri, events });
    await calendly("/counters/reset", {});
    const setup = await connectCalendly(history, historyAccount);
    const full = (await calendly<{ items_returned: Record<string, number> }>("/counters"))
      .items_returned["scheduled_events.list"] ?? 0;
    await calendly("/counters/reset", {});
    await callFunction("refresh-calendar-webhook", history.jwt);
    const incremental = (await calendly<{ items_returned: Record<string, number> }>("/counters"))
      .items_returned["scheduled_events.list"] ?? 0;
    console.log(`\nData fetched, seed-shaped history (${events.length} meetings)\n`);
    console.log(table(["sync", "meetings listed", "share of the full sync"], [
      ["FULL (setup)", int(full), "100 %"],
      ["INCREMENTAL (refresh)", int(incremental), `${fmt((100 * incremental) / full, 1)} %`],
    ]));
    console.log(
      `\nVERDICT: delivery → meeting p50 ${fmt(percentile(project, 50))} ms, p95 ` +
        `${fmt(percentile(project, 95))} ms (bare verify + insert: p50 ` +
        `${fmt(percentile(baseline, 50))} ms); an incremental sync fetched ` +
        `${fmt(100 - (100 * incremental) / full, 0)} % less than the full one ` +
        `(${setup.sync.new} meetings at setup).`,
    );
  } finally {
    await bare.stop();
    await sql`drop schema if exists bench cascade`;
    await sql.end();
  }
}

await main();
