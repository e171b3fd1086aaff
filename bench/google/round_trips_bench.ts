/**
 * Round trips, measured: database requests and Google requests per notification, per
 * incremental sync and per plan, beside the README's claimed table. Needs a running stack; run
 * it through `make bench`. Informational: it fails only if it could not do its work, never
 * because a count differs from the claim (a difference is printed as a FINDING).
 *
 * How the counts are taken (nothing of the product is wrapped or changed):
 *   - database: every request PostgREST serves and every statement on the receiver's direct
 *     connection, read back from PostgreSQL's own statement log (bench/support.ts
 *     DatabaseRequestCounter). Each is one round trip from a function; its path names the SQL
 *     function.
 *   - Google: the emulator's request counters (GET /__emulator/counters), minus the writes the
 *     bench itself makes to cause the changes.
 * The flows, one at a time, each waited for until nothing runs (a user with 4 sessions planned
 * around the clock, connected through setup-calendar-webhook, write-back off):
 *   A. a notification with nothing new at Google (the receiver, then the incremental sync);
 *   B. a meeting booked over a session through the Calendar API (its push, the sync, the plan
 *      that moves the session);
 *   C. as A, after the stored access token expired (the sync refreshes it first);
 *   D. the user's "re-plan" button (recalculate-schedule with their JWT) after they added a
 *      session: the plan asked for explicitly (it records the request first).
 *
 * Env knobs: BENCH_ROUND_TRIP_REPEATS (5: instances of each flow).
 */
import { accountAccessToken, channelNotifier } from "../../devkit/google.ts";
import { connectDb, stack } from "../../devkit/stack.ts";
import { countRequests, type DatabaseRequest, DatabaseRequestCounter } from "../support.ts";
import { fmt, readCounters, resetCounters, table } from "./support.ts";
import {
  blocksOf,
  createPlanner,
  meetingOver,
  type Planner,
  replan,
  settled,
  type Sql,
} from "../planning/support.ts";

const REPEATS = Number(Deno.env.get("BENCH_ROUND_TRIP_REPEATS") ?? 5);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Flow = "notification" | "sync" | "token refresh" | "plan" | "other";

/** Which flow a database request belongs to, by the SQL function it calls. */
function flowOf(request: DatabaseRequest): Flow {
  const name = request.path.replace(/^\/rpc\//, "");
  if (name.startsWith("google_receive_notification")) return "notification";
  if (/^connection_\w*token_refresh$/.test(name)) return "token refresh";
  if (name.startsWith("sync_")) return "sync";
  if (name.startsWith("schedule_")) return "plan";
  return "other";
}

interface Measured {
  requests: DatabaseRequest[];
  google: Record<string, number>;
}

/** Runs `work` with both counters on; Google's counts without the bench's own `ownWrites`. */
async function measure(
  sql: Sql,
  ownWrites: Record<string, number>,
  work: () => Promise<void>,
): Promise<Measured> {
  await resetCounters();
  const counter = await DatabaseRequestCounter.start(sql);
  let requests: DatabaseRequest[] = [];
  try {
    await work();
  } finally {
    // Always: stop() also turns PostgreSQL's statement logging off again.
    requests = await counter.stop();
  }
  const google = { ...(await readCounters()).counts };
  for (const [operation, n] of Object.entries(ownWrites)) {
    google[operation] = (google[operation] ?? 0) - n;
    if (google[operation] === 0) delete google[operation];
  }
  return { requests, google };
}

/** Until the calendar's last sync is newer than `since` and the user has settled. */
async function syncedSince(sql: Sql, planner: Planner, since: Date) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [state] = await sql`select last_synced_at from public.calendar_sync_state
      where connection_id = ${planner.connectionId}`;
    if (state.last_synced_at > since) break;
    if (Date.now() > deadline) throw new Error("the notification's sync did not run");
    await sleep(10);
  }
  await settled(sql, planner.user.id);
}

async function lastSynced(sql: Sql, planner: Planner): Promise<Date> {
  const [state] = await sql`select last_synced_at from public.calendar_sync_state
    where connection_id = ${planner.connectionId}`;
  return state.last_synced_at;
}

/** Per instance: the total, and "sync_claim 1.0, sync_store_page 1.0" by SQL function. */
function perInstance(requests: DatabaseRequest[], instances: number) {
  return {
    total: fmt(requests.length / instances, 1),
    detail:
      countRequests(requests).map(([key, n]) =>
        `${key.replace(/^POST \/rpc\//, "").replace(/^DIRECT \/rpc\/(.*)/, "$1 (direct)")} ${
          fmt(n / instances, 1)
        }`
      ).join(", ") || "none",
  };
}

function googlePerInstance(google: Record<string, number>, instances: number) {
  const entries = Object.entries(google).filter(([, n]) => n !== 0);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  return {
    total: total === 0 ? "0" : fmt(total / instances, 1),
    detail: entries.map(([operation, n]) => `${operation} ${fmt(n / instances, 1)}`).join(", ") ||
      "none",
  };
}

async function main() {
  const sql = connectDb();
  try {
    const planner = await createPlanner(sql, "bench-round-trips", { sessions: 4 });
    const first = await replan(planner.user);
    if (first.placed !== 4) throw new Error(`the first plan placed ${first.placed} of 4 sessions`);
    await settled(sql, planner.user.id);
    const notifier = await channelNotifier(sql, planner.channelId);
    const receiverUrl = stack.functionUrl("google-calendar-webhook");
    const token = await accountAccessToken(planner.account.refresh_token);
    const notify = async () => {
      const response = await fetch(receiverUrl, { method: "POST", headers: notifier.headers() });
      if (!response.ok) throw new Error(`receiver → ${response.status}: ${await response.text()}`);
      await response.body?.cancel();
    };

    // A. Nothing new at Google.
    const quiet = await measure(sql, {}, async () => {
      for (let i = 0; i < REPEATS; i++) {
        const since = await lastSynced(sql, planner);
        await notify();
        await syncedSince(sql, planner, since);
      }
    });

    // B. A meeting over a session: push → receiver → sync → plan.
    const meetings = await measure(sql, { "events.insert": REPEATS }, async () => {
      for (let i = 0; i < REPEATS; i++) {
        const [target] = await blocksOf(sql, planner.user.id);
        const [{ n: runsBefore }] = await sql`select count(*)::int as n from public.schedule_runs
          where user_id = ${planner.user.id}`;
        await meetingOver(token, planner.account.calendar_id, target, `Meeting ${i}`);
        const deadline = Date.now() + 20_000;
        for (;;) {
          const [{ n }] = await sql`select count(*)::int as n from public.schedule_runs
            where user_id = ${planner.user.id}`;
          if (n > runsBefore) break;
          if (Date.now() > deadline) throw new Error("the meeting did not cause a plan");
          await sleep(10);
        }
        await settled(sql, planner.user.id);
      }
    });

    // C. As A, with the stored access token expired.
    const expired = await measure(sql, {}, async () => {
      for (let i = 0; i < REPEATS; i++) {
        await sql`update public.calendar_connections
          set access_token_expires_at = now() - interval '1 minute'
          where id = ${planner.connectionId}`;
        const since = await lastSynced(sql, planner);
        await notify();
        await syncedSince(sql, planner, since);
      }
    });

    // D. The re-plan button after a new session.
    const button = await measure(sql, {}, async () => {
      for (let i = 0; i < REPEATS; i++) {
        await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
            earliest_start)
          values (${planner.user.id}, ${`Added ${i}`}, 30, 1, now() + interval '2 hours')`;
        const answer = await replan(planner.user);
        if (answer.placed !== 1) throw new Error(`the re-plan placed ${answer.placed}, not 1`);
        await settled(sql, planner.user.id);
      }
    });

    const byFlow = (m: Measured, ...flows: Flow[]) =>
      m.requests.filter((request) => flows.includes(flowOf(request)));
    const none = { total: "0", detail: "none" };
    const flows: [string, string, ReturnType<typeof perInstance>, string, typeof none, string][] = [
      [
        "notification (google-calendar-webhook)",
        "A",
        perInstance(byFlow(quiet, "notification"), REPEATS),
        "1",
        none,
        "0",
      ],
      [
        "incremental sync after a notification, nothing new",
        "A",
        perInstance(byFlow(quiet, "sync", "token refresh"), REPEATS),
        "2 (claim 1 + store-page/finish 1)",
        googlePerInstance(quiet.google, REPEATS),
        "1 (list 1)",
      ],
      [
        "incremental sync after a meeting's push",
        "B",
        perInstance(byFlow(meetings, "sync", "token refresh"), REPEATS),
        "2 (claim 1 + store-page/finish 1)",
        googlePerInstance(meetings.google, REPEATS),
        "1 (list 1)",
      ],
      [
        "incremental sync, access token expired",
        "C",
        perInstance(byFlow(expired, "sync", "token refresh"), REPEATS),
        "2 + the token refresh",
        googlePerInstance(expired.google, REPEATS),
        "1 + the token refresh",
      ],
      [
        "plan after busy time changed (in-process)",
        "B",
        perInstance(byFlow(meetings, "plan"), REPEATS),
        "2 (claim+load inputs 1, apply+finish 1)",
        none,
        "0",
      ],
      [
        "plan asked for with the re-plan button",
        "D",
        perInstance(button.requests, REPEATS),
        "3 (request 1, claim+load inputs 1, apply+finish 1)",
        googlePerInstance(button.google, REPEATS),
        "0",
      ],
    ];
    console.log(
      `Round trips per instance (${REPEATS} instances of each flow, one at a time). Database: ` +
        `PostgREST requests and direct statements read back from PostgreSQL's statement log; ` +
        `Google: the emulator's request counters minus the bench's own writes.\n`,
    );
    console.log(table(
      ["flow", "run", "DB round trips", "README", "Google requests", "README"],
      flows.map(([flow, run, db, dbClaim, google, googleClaim]) => [
        flow,
        run,
        db.total,
        dbClaim,
        google.total,
        googleClaim,
      ]),
    ));
    console.log("\nMeasured, per instance, by call:");
    for (const [flow, run, db, , google] of flows) {
      console.log(`  ${run} ${flow}: database ${db.detail}; Google ${google.detail}`);
    }
    const others = [
      ...quiet.requests,
      ...meetings.requests,
      ...expired.requests,
      ...button.requests,
    ]
      .filter((request) => flowOf(request) === "other");
    if (others.length > 0) {
      console.log(
        `\nOther PostgREST requests during the runs (not attributed to a flow): ${
          countRequests(others).map(([key, n]) => `${key} ×${n}`).join(", ")
        }`,
      );
    }

    const findings: string[] = [];
    const per = (m: Measured, ...flows: Flow[]) => byFlow(m, ...flows).length / REPEATS;
    if (per(quiet, "notification") !== 1) {
      findings.push(`a notification took ${per(quiet, "notification")} round trips, not 1`);
    }
    for (const [label, m] of [["A", quiet], ["B", meetings]] as const) {
      if (per(m, "sync", "token refresh") !== 2) {
        findings.push(
          `run ${label}: a sync took ${per(m, "sync", "token refresh")} round trips, not 2`,
        );
      }
      if ((m.google["events.list"] ?? 0) / REPEATS !== 1) {
        findings.push(
          `run ${label}: ${(m.google["events.list"] ?? 0) / REPEATS} list calls per sync`,
        );
      }
    }
    if (per(meetings, "plan") !== 2) {
      findings.push(`a plan took ${per(meetings, "plan")} round trips, not 2`);
    }
    if (button.requests.length / REPEATS !== 3) {
      findings.push(
        `a plan asked for with the re-plan button took ${
          fmt(button.requests.length / REPEATS, 1)
        } round trips (${perInstance(button.requests, REPEATS).detail}), not 3`,
      );
    }
    console.log(
      findings.length === 0
        ? `\nVERDICT: every measured count equals the README's table.`
        : `\nFINDING: ${findings.join("; ")}.`,
    );
  } finally {
    await sql.end();
  }
}

await main();
