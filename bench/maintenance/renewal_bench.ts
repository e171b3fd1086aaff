/**
 * One maintenance cycle over 10,000 Google calendars whose channels are all due for renewal:
 * the fan-out (pg_cron's maintenance_dispatch → claimed batches → refresh-calendar-webhook)
 * beside the serial loop the project ran before (serial_loop_baseline.ts), measured in the same
 * run on the same stack. Needs a running stack; run it through `make bench` (scripts/bench.sh).
 * Informational only: it never asserts on time; it fails only if it could not do its work (a
 * calendar left without a renewed channel).
 *
 * - project: pg_cron's own schedule of the job is paused; the bench runs the job's command text
 *   as pg_cron would, once per simulated minute (the database's clock and the emulator's moved
 *   together), and waits for the batches it sent to finish, until no calendar is due. Figures:
 *   wall time of the whole cycle, the cron minutes it took (the per-minute budget spreads the
 *   renewals), the most calendars one invocation handled and the longest invocation (from the
 *   dispatch's commit to the release of its last calendar), Google requests per cron minute
 *   (emulator counters).
 * - baseline: one pass of the serial loop in this process (one invocation), over a sample of
 *   the same kind of calendars; its time is extrapolated linearly to the full count (a serial
 *   loop is linear by construction).
 * - database round trips per calendar: counted apart (PostgreSQL's statement log sees every
 *   PostgREST request, the functions' included; see bench/support.ts), on a small fleet each,
 *   never while timing.
 *
 * Seeding: users are connected through setup-calendar-webhook; the counted calendars are
 * secondary calendars seeded at the emulator (channels opened with events.watch, expiring
 * within the 24 h lead) and in the database (fleet.ts).
 *
 * Env knobs: BENCH_MAINTENANCE_CALENDARS (10000), BENCH_MAINTENANCE_PER_USER (50),
 * BENCH_SERIAL_CALENDARS (500, the baseline's sample), BENCH_COUNTED_CALENDARS (50).
 */
import {
  advanceSimulatedClocks,
  databaseNow,
  emulator,
  resetSimulatedClocks,
  withCronJobPaused,
} from "../../devkit/google.ts";
import { connectDb, stack } from "../../devkit/stack.ts";
import {
  countRequests,
  DatabaseRequestCounter,
  fmt,
  int,
  median,
  ratio,
  table,
} from "../support.ts";
import { dueCalendars, type Fleet, seedDueFleet, type Sql, startSink } from "./fleet.ts";
import { type SerialLoopFigures, serialLoopMaintenance } from "./serial_loop_baseline.ts";

const CALENDARS = Number(Deno.env.get("BENCH_MAINTENANCE_CALENDARS") ?? 10_000);
const PER_USER = Number(Deno.env.get("BENCH_MAINTENANCE_PER_USER") ?? 50);
const SERIAL = Math.min(CALENDARS, Number(Deno.env.get("BENCH_SERIAL_CALENDARS") ?? 500));
const COUNTED = Number(Deno.env.get("BENCH_COUNTED_CALENDARS") ?? 50);
const MAINTENANCE_JOB = "refresh-calendar-webhooks";
const MINUTE = 60_000;
/** Seeded channels live 12 hours: within the 24 h lead, so every one is due at once. */
const SEEDED_TTL_SECONDS = 12 * 3600;
const RENEW_LEAD_MS = 24 * 3600_000;

interface Invocation {
  calendars: { connection_id: string; calendar_id: string }[];
  /** performance.now() when the dispatch that queued it committed. */
  dispatchedAt: number;
  /** Date.now() at the same moment, to compare with the database's timestamps. */
  dispatchedAtEpoch: number;
}

interface Tick {
  ms: number;
  calendars: number;
  googleRequests: number;
}

interface CycleFigures {
  ms: number;
  ticks: Tick[];
  invocations: { calendars: number; ms: number }[];
}

async function googleRequestTotal(): Promise<number> {
  const { counts } = await emulator<{ counts: Record<string, number> }>("/counters");
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/**
 * The job's command text in a transaction of its own, as pg_cron runs it; the batches it
 * queued for pg_net are read back in the same transaction (pg_net sends them after commit).
 */
async function dispatch(sql: Sql, command: string): Promise<Invocation[]> {
  const bodies = await sql.begin(async (tx) => {
    await tx.unsafe(command);
    return await tx`select convert_from(body, 'UTF8')::jsonb as body from net.http_request_queue
      where xmin = pg_current_xact_id()::xid and url like '%/refresh-calendar-webhook'
      order by id`;
  });
  const dispatchedAt = performance.now();
  const dispatchedAtEpoch = Date.now();
  return bodies.map((row) => ({
    calendars: row.body.batch,
    dispatchedAt,
    dispatchedAtEpoch,
  }));
}

/** Until pg_net has sent every batch and no calendar of the fleet is held by one. */
async function untilReleased(sql: Sql, fleet: Fleet) {
  for (;;) {
    const [row] = await sql`select
      (select count(*) from net.http_request_queue)::int as queued,
      (select count(*) from public.calendar_sync_state
        where connection_id = any(${fleet.connectionIds}::uuid[])
          and maintenance_claim is not null
          and maintenance_lease_until > public.app_now())::int as held`;
    if (row.queued === 0 && row.held === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** pg_cron's maintenance job, once per simulated minute, until no calendar of the fleet is due. */
async function fanOutCycle(sql: Sql, fleet: Fleet, command: string): Promise<CycleFigures> {
  const ticks: Tick[] = [];
  const invocations: Invocation[] = [];
  let requestsBefore = await googleRequestTotal();
  const started = performance.now();
  while (await dueCalendars(sql, fleet) > 0) {
    if (ticks.length >= 60) throw new Error("the fleet was not renewed within 60 cron minutes");
    if (ticks.length > 0) await advanceSimulatedClocks(sql, MINUTE);
    const tickStarted = performance.now();
    const sent = await dispatch(sql, command);
    await untilReleased(sql, fleet);
    const requests = await googleRequestTotal();
    ticks.push({
      ms: performance.now() - tickStarted,
      calendars: sent.reduce((sum, invocation) => sum + invocation.calendars.length, 0),
      googleRequests: requests - requestsBefore,
    });
    requestsBefore = requests;
    invocations.push(...sent);
  }
  const ms = performance.now() - started;
  // An invocation ends when its last calendar is released (the release is the calendar's last
  // write: a renewal alone runs no sync).
  const rows = await sql`select connection_id, calendar_id, updated_at
    from public.calendar_sync_state where connection_id = any(${fleet.connectionIds}::uuid[])`;
  const releasedAt = new Map(
    rows.map((row) => [`${row.connection_id} ${row.calendar_id}`, row.updated_at.getTime()]),
  );
  return {
    ms,
    ticks,
    invocations: invocations.map((invocation) => ({
      calendars: invocation.calendars.length,
      ms: Math.max(
        ...invocation.calendars.map((item) =>
          releasedAt.get(`${item.connection_id} ${item.calendar_id}`) ?? NaN
        ),
      ) - invocation.dispatchedAtEpoch,
    })),
  };
}

function serialPass(sql: Sql, fleet: Fleet): Promise<SerialLoopFigures> {
  return databaseNow(sql).then((now) =>
    serialLoopMaintenance({
      connectionIds: fleet.connectionIds,
      refreshTokens: new Map(fleet.users.map((user) => [user.connectionId, user.refreshToken])),
      now,
      renewLeadMs: RENEW_LEAD_MS,
      webhookUrl: stack.functionUrl("google-calendar-webhook"),
    })
  );
}

async function assertRenewed(sql: Sql, fleet: Fleet, who: string) {
  const due = await dueCalendars(sql, fleet);
  if (due > 0) throw new Error(`${who}: ${due} calendars were left without a renewed channel`);
}

/**
 * Database round trips per calendar worked on (`run` says how many) in one renewal pass, from
 * PostgreSQL's statement log.
 */
async function countRoundTrips(sql: Sql, run: () => Promise<number>) {
  const counter = await DatabaseRequestCounter.start(sql);
  let requests;
  let calendars = 0;
  try {
    calendars = await run();
  } finally {
    requests = await counter.stop();
  }
  const byPath = countRequests(requests).map(([path, n]) => [path, n / calendars] as const);
  return { perCalendar: requests.length / calendars, byPath };
}

async function main() {
  const sql = connectDb();
  const sink = startSink();
  const seed = (label: string, calendars: number) =>
    seedDueFleet(sql, {
      label,
      users: Math.ceil(calendars / PER_USER),
      perUser: Math.min(PER_USER, calendars),
      sinkUrl: sink.url,
      ttlSeconds: SEEDED_TTL_SECONDS,
    });
  try {
    await resetSimulatedClocks(sql);
    await withCronJobPaused(sql, MAINTENANCE_JOB, async () => {
      const [{ command }] = await sql`select command from cron.job
        where jobname = ${MAINTENANCE_JOB}`;
      console.log(
        `One renewal cycle of ${int(CALENDARS)} due calendars (${PER_USER} per user): the ` +
          `fan-out vs the serial loop (timed on ${int(SERIAL)} calendars, extrapolated)\n`,
      );

      // Round trips, counted apart from the timed runs.
      const countedSerial = await seed("bench-count-serial", COUNTED);
      const serialTrips = await countRoundTrips(
        sql,
        async () => (await serialPass(sql, countedSerial)).calendars,
      );
      await assertRenewed(sql, countedSerial, "serial loop (counted)");
      const countedFanOut = await seed("bench-count-fanout", COUNTED);
      const fanOutTrips = await countRoundTrips(sql, async () => {
        const { ticks } = await fanOutCycle(sql, countedFanOut, command);
        return ticks.reduce((sum, tick) => sum + tick.calendars, 0);
      });
      await assertRenewed(sql, countedFanOut, "fan-out (counted)");

      // The baseline, timed.
      let seeding = performance.now();
      const serialFleet = await seed("bench-serial", SERIAL);
      console.log(
        `  seeded ${int(SERIAL)} calendars in ${fmt((performance.now() - seeding) / 1000)} s`,
      );
      await emulator("/counters/reset", {});
      const serial = await serialPass(sql, serialFleet);
      await assertRenewed(sql, serialFleet, "serial loop");
      console.log(
        `  serial loop: ${int(serial.renewed)} renewed in ${fmt(serial.ms / 1000)} s, ` +
          `${int(serial.googleRequests)} Google requests, ${
            int(serial.dbRoundTrips)
          } PostgREST requests`,
      );

      // The fan-out, timed.
      seeding = performance.now();
      const fleet = await seed("bench-fanout", CALENDARS);
      console.log(
        `  seeded ${int(CALENDARS)} calendars in ${fmt((performance.now() - seeding) / 1000)} s`,
      );
      const cycle = await fanOutCycle(sql, fleet, command);
      await assertRenewed(sql, fleet, "fan-out");
      for (const [minute, tick] of cycle.ticks.entries()) {
        console.log(
          `  cron minute ${minute + 1}: ${int(tick.calendars)} calendars dispatched, ` +
            `${int(tick.googleRequests)} Google requests, worked off in ${fmt(tick.ms / 1000)} s`,
        );
      }

      const scale = CALENDARS / SERIAL;
      const serialMs = serial.ms * scale;
      const serialPerMinute = serial.googleRequests / (serial.ms / MINUTE);
      const longest = Math.max(...cycle.invocations.map((i) => i.ms));
      const most = Math.max(...cycle.invocations.map((i) => i.calendars));
      const peak = Math.max(...cycle.ticks.map((tick) => tick.googleRequests));
      console.log("");
      console.log(table(
        ["metric", "fan-out (project)", "serial loop (before) *", "serial / fan-out"],
        [
          [
            `wall time for ${int(CALENDARS)} renewals (s)`,
            fmt(cycle.ms / 1000),
            fmt(serialMs / 1000),
            ratio(serialMs, cycle.ms),
          ],
          ["cron minutes it spans", int(cycle.ticks.length), "1", "-"],
          [
            "most calendars in one invocation",
            int(most),
            int(CALENDARS),
            ratio(CALENDARS, most),
          ],
          [
            "longest invocation (s)",
            fmt(longest / 1000),
            fmt(serialMs / 1000),
            ratio(serialMs, longest),
          ],
          [
            "median invocation (s)",
            fmt(median(cycle.invocations.map((i) => i.ms)) / 1000),
            fmt(serialMs / 1000),
            "-",
          ],
          [
            "peak Google requests per minute",
            int(peak),
            int(serialPerMinute),
            ratio(serialPerMinute, peak),
          ],
          [
            "database round trips per calendar",
            fmt(fanOutTrips.perCalendar, 2),
            fmt(serialTrips.perCalendar, 2),
            ratio(serialTrips.perCalendar, fanOutTrips.perCalendar),
          ],
        ],
      ));
      console.log(
        `\n* the serial loop ran over ${int(SERIAL)} calendars; its times are extrapolated ` +
          `×${fmt(scale, 1)}. Its Google rate is what it sustains while it runs (no budget); ` +
          `the fan-out's is per cron minute (the budget: 30 % of 10,000 requests/min).`,
      );
      const top = (trips: typeof serialTrips) =>
        trips.byPath.slice(0, 8).map(([path, n]) => `${path} ×${fmt(n, 2)}`).join(", ");
      console.log(`  fan-out round trips per calendar: ${top(fanOutTrips)}`);
      console.log(`  serial  round trips per calendar: ${top(serialTrips)}`);
      console.log(
        `\nVERDICT: the fan-out renewed ${int(CALENDARS)} channels in ${cycle.ticks.length} ` +
          `cron minutes (${fmt(cycle.ms / 1000)} s of work, ${ratio(serialMs, cycle.ms)} the ` +
          `serial loop's wall time), at most ${int(most)} calendars and ${
            fmt(longest / 1000)
          } s per invocation, at most ${int(peak)} Google requests per minute ` +
          `(serial: ${int(serialPerMinute)}/min, one invocation of ${fmt(serialMs / 1000)} s).`,
      );
    });
  } finally {
    await resetSimulatedClocks(sql).catch(() => {});
    await sink.close();
    await sql.end();
  }
}

await main();
