/**
 * Full sync of a 10,000-event Google calendar: the project's sync core against a naive baseline.
 * Needs a running stack (API_URL, DB_URL, SERVICE_ROLE_KEY, GOOGLE_EMULATOR_URL, ...); run it
 * through `make bench` (scripts/bench.sh). Informational only: it never asserts on time, but it
 * fails if a run does not store exactly the events the emulator holds.
 *
 * - project: the sync core's `syncCalendar` in-process, with Google's change strategy over the
 *   real `GoogleCalendarClient` (pages of 2,500) and the PostgREST sync store (one RPC per page;
 *   the cursor moves with the last page, which also releases the claim) over a service-role
 *   supabase-js client; every store call is one database round trip.
 * - baseline (baseline_row_by_row.ts): pages of 250 with plain fetch, one PostgREST INSERT per
 *   event.
 *
 * Each run uses a fresh user and emulator account seeded with the events. Env knobs:
 * BENCH_SYNC_EVENTS (10000), BENCH_SYNC_REPS (3), BENCH_ROW_BY_ROW_EVENTS (events the baseline
 * actually inserts; below BENCH_SYNC_EVENTS its time is extrapolated linearly), BENCH_ROW_BY_ROW_REPS (1).
 */
import {
  GoogleCalendarClient,
  googleChangeStrategy,
} from "../../supabase/functions/_shared/providers/google/mod.ts";
import { systemClock } from "../../supabase/functions/_shared/clock.ts";
import { syncCalendar } from "../../supabase/functions/_shared/sync/runner.ts";
import {
  createPostgrestSyncStore,
  type SyncStore,
} from "../../supabase/functions/_shared/sync/store.ts";
import { connectDb, stack } from "../../devkit/stack.ts";
import { accountAccessToken, mirrorMatchesTruth } from "../../devkit/google.ts";
import { rowByRowFullSync } from "./baseline_row_by_row.ts";
import {
  countMirrorRows,
  emulatorGoogleConfig,
  fmt,
  freshCalendar,
  int,
  median,
  ratio,
  readCounters,
  resetCounters,
  serviceClient,
  type Sql,
  table,
} from "./support.ts";

const EVENTS = Number(Deno.env.get("BENCH_SYNC_EVENTS") ?? 10_000);
const REPS = Number(Deno.env.get("BENCH_SYNC_REPS") ?? 3);
const ROW_EVENTS = Math.min(EVENTS, Number(Deno.env.get("BENCH_ROW_BY_ROW_EVENTS") ?? EVENTS));
const ROW_REPS = Number(Deno.env.get("BENCH_ROW_BY_ROW_REPS") ?? 1);
const PAST_DAYS = 30;

interface RunFigures {
  ms: number;
  listCalls: number;
  tokenCalls: number;
  dbRoundTrips: number;
  stored: number;
  exact: boolean;
}

/** Counts every method call on the store: each is one PostgREST request, one round trip. */
function countingStore(inner: SyncStore) {
  const calls: Record<string, number> = {};
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const name = String(property);
        calls[name] = (calls[name] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  const total = () => Object.values(calls).reduce((a, b) => a + b, 0);
  return { store, calls, total };
}

async function projectRun(sql: Sql): Promise<RunFigures & { calls: Record<string, number> }> {
  const fixture = await freshCalendar(sql, "bench-sync", EVENTS);
  const client = new GoogleCalendarClient({
    config: emulatorGoogleConfig(),
    refreshToken: fixture.account.refresh_token,
  });
  const counting = countingStore(createPostgrestSyncStore(serviceClient()));
  await resetCounters();

  const started = performance.now();
  const summary = await syncCalendar({
    store: counting.store,
    strategy: () =>
      googleChangeStrategy({
        lister: client,
        calendarId: fixture.calendarId,
        clock: systemClock,
        pastDays: PAST_DAYS,
      }),
    leaseSeconds: 15,
  }, { connectionId: fixture.connectionId, calendarId: fixture.calendarId });
  const ms = performance.now() - started;

  const counters = await readCounters();
  const stored = await countMirrorRows(sql, fixture.connectionId);
  const exact = await mirrorMatchesTruth(sql, fixture.connectionId, fixture.calendarId);
  if (!summary.fullSync || summary.upserted !== EVENTS) {
    throw new Error(`unexpected sync summary: ${JSON.stringify(summary)}`);
  }
  return {
    ms,
    listCalls: counters.counts["events.list"] ?? 0,
    tokenCalls: counters.counts["oauth.token"] ?? 0,
    dbRoundTrips: counting.total(),
    stored,
    exact,
    calls: { ...counting.calls },
  };
}

async function baselineRun(sql: Sql): Promise<RunFigures> {
  const fixture = await freshCalendar(sql, "bench-rows", EVENTS);
  const db = serviceClient();
  await resetCounters();
  const started = performance.now();
  const token = await accountAccessToken(fixture.account.refresh_token);
  const result = await rowByRowFullSync({
    apiRoot: stack.googleEmulatorUrl,
    accessToken: token,
    calendarId: fixture.calendarId,
    connectionId: fixture.connectionId,
    userId: fixture.user.id,
    db,
    timeMin: new Date(Date.now() - PAST_DAYS * 86_400_000).toISOString(),
    limit: ROW_EVENTS,
  });
  const ms = performance.now() - started;
  const counters = await readCounters();
  const stored = await countMirrorRows(sql, fixture.connectionId);
  const exact = ROW_EVENTS === EVENTS
    ? await mirrorMatchesTruth(sql, fixture.connectionId, fixture.calendarId)
    : stored === ROW_EVENTS;
  return {
    ms,
    listCalls: counters.counts["events.list"] ?? 0,
    tokenCalls: counters.counts["oauth.token"] ?? 0,
    dbRoundTrips: result.dbRoundTrips,
    stored,
    exact,
  };
}

async function main() {
  const sql = connectDb();
  try {
    console.log(
      `Full sync of ${int(EVENTS)} future events (fresh user + emulator account per run; ` +
        `${REPS} project run(s), ${ROW_REPS} baseline run(s))\n`,
    );
    const project: RunFigures[] = [];
    for (let i = 0; i < REPS; i++) {
      const run = await projectRun(sql);
      project.push(run);
      console.log(
        `  project  run ${i + 1}: ${fmt(run.ms, 0)} ms, ${run.listCalls} list calls, ` +
          `${run.dbRoundTrips} db round trips ${JSON.stringify(run.calls)}, ` +
          `${int(run.stored)} stored, mirror ${
            run.exact ? "matches" : "DOES NOT match"
          } the emulator`,
      );
    }
    const baseline: RunFigures[] = [];
    for (let i = 0; i < ROW_REPS; i++) {
      const run = await baselineRun(sql);
      baseline.push(run);
      console.log(
        `  baseline run ${i + 1}: ${fmt(run.ms, 0)} ms for ${int(run.stored)} events ` +
          `(${run.listCalls} list calls, ${int(run.dbRoundTrips)} db round trips), ` +
          `${run.exact ? "all stored" : "NOT all stored"}`,
      );
    }

    const scale = EVENTS / ROW_EVENTS;
    const extrapolated = ROW_EVENTS < EVENTS;
    const p = {
      ms: median(project.map((r) => r.ms)),
      list: median(project.map((r) => r.listCalls)),
      token: median(project.map((r) => r.tokenCalls)),
      db: median(project.map((r) => r.dbRoundTrips)),
      stored: Math.min(...project.map((r) => r.stored)),
    };
    const b = {
      ms: median(baseline.map((r) => r.ms)) * scale,
      list: extrapolated ? Math.ceil(EVENTS / 250) : median(baseline.map((r) => r.listCalls)),
      token: median(baseline.map((r) => r.tokenCalls)),
      db: median(baseline.map((r) => r.dbRoundTrips)) * scale,
      stored: Math.min(...baseline.map((r) => r.stored)),
    };
    const mark = extrapolated ? " *" : "";
    console.log("");
    console.log(table(
      [
        "metric (median)",
        "project (pages of 2,500, RPC per page)",
        `baseline (250/page, INSERT per row)${mark}`,
        "baseline / project",
      ],
      [
        ["wall time (ms)", fmt(p.ms, 0), fmt(b.ms, 0) + mark, ratio(b.ms, p.ms)],
        ["events.list calls", int(p.list), int(b.list) + mark, ratio(b.list, p.list)],
        ["oauth.token calls", int(p.token), int(b.token), ratio(b.token, p.token)],
        ["database round trips", int(p.db), int(b.db) + mark, ratio(b.db, p.db)],
        [
          "events/s",
          int(EVENTS / (p.ms / 1000)),
          int(EVENTS / (b.ms / 1000)) + mark,
          ratio(b.ms, p.ms),
        ],
        ["events stored", int(p.stored), int(b.stored), "-"],
      ],
    ));
    if (extrapolated) {
      console.log(
        `\n* the baseline inserted ${
          int(ROW_EVENTS)
        } events per run; its time and round trips are ` +
          `extrapolated linearly ×${fmt(scale, 1)} to ${int(EVENTS)}, its list calls computed as ` +
          `ceil(${int(EVENTS)} / 250).`,
      );
    }
    const allExact = project.every((r) => r.exact && r.stored === EVENTS) &&
      baseline.every((r) => r.exact);
    console.log(
      `\nVERDICT: project full sync of ${int(EVENTS)} events: ${fmt(p.ms, 0)} ms, ` +
        `${p.list} list calls, ${p.db} db round trips; ${
          ratio(b.ms, p.ms)
        } faster than row by row ` +
        `with ${ratio(b.db, p.db)} fewer round trips; ` +
        (allExact
          ? "every project run stored exactly what the emulator holds"
          : "SOME RUN DID NOT STORE EVERYTHING"),
    );
    if (!allExact) Deno.exitCode = 1;
  } finally {
    await sql.end();
  }
}

await main();
