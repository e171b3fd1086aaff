// The push-channel lifecycle over simulated time and at scale (issue 11), through the gateway
// against the Google emulator. pg_cron's own schedule of the maintenance job is paused while a
// test runs: the test runs the job's command text itself at simulated times (the database's
// app_now() and the emulator's clock moved together), lets pg_net deliver the batches and
// waits for their work to finish.
//   - 30 simulated days, 200 calendars of 50 users: a live channel at every instant, every
//     channel renewed before it expires, renewals never force a full sync, no orphan channels;
//   - 20 % of notifications dropped: every change reaches the mirror within one backup period
//     (and, focused: the backup is taken by the last run before the period would be exceeded);
//   - overlapping maintenance runs: no calendar claimed twice, one renewal per calendar, every
//     replaced channel stopped;
//   - a batch that died mid-way (at every step of a renewal, and a worker really killed) is
//     finished by the next run once its leases ran out; a worker that merely stalled past its
//     lease cannot undo the run that took its calendar over.
import assert from "node:assert/strict";
import postgres from "postgres";
import {
  callFunction,
  connectDb,
  createUser,
  eventually,
  type Sql,
  stack,
  stackPartPid,
  type TestUser,
} from "../../devkit/stack.ts";
import { sha256Hex } from "../../supabase/functions/_shared/security/crypto.ts";
import {
  accountAccessToken,
  advanceSimulatedClocks,
  channelCoverage,
  connectGoogle,
  createGoogleAccount,
  createSecondaryCalendar,
  databaseNow,
  emulator,
  type EmulatorChannel,
  emulatorChannels,
  type GoogleAccount,
  inParallel,
  mirror,
  mirrorMatchesTruth,
  resetSimulatedClocks,
  runCronJob,
  truth,
  untilCalendarsSettle,
  withCronJobPaused,
} from "../../devkit/google.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** maintenance_settings.renew_lead (and RENEW_BEFORE_MS): channels are renewed this early. */
const RENEW_LEAD = DAY;
/** maintenance_settings.backup_period. */
const BACKUP_PERIOD = 15 * MINUTE;
const MAINTENANCE_JOB = "refresh-calendar-webhooks";
const CLEANUP_JOB = "calendar-sync-cleanup";

interface WatchedCalendar {
  user: TestUser;
  account: GoogleAccount;
  calendarId: string;
  connectionId: string;
}

/** `users` users with `perUser` calendars each at the emulator (a primary and secondaries). */
async function createCalendars(sql: Sql, label: string, users: number, perUser: number) {
  return (await inParallel(Array.from({ length: users }), 8, async () => {
    const user = await createUser(sql, label);
    const account = await createGoogleAccount(user);
    const calendarIds = [account.calendar_id];
    while (calendarIds.length < perUser) calendarIds.push(await createSecondaryCalendar(account));
    return calendarIds.map((calendarId) => ({ user, account, calendarId }));
  })).flat();
}

/** Connects each calendar through setup-calendar-webhook (channel, initial full sync). */
function connectAll(calendars: Omit<WatchedCalendar, "connectionId">[]) {
  return inParallel(calendars, 6, async (calendar): Promise<WatchedCalendar> => {
    const setup = await connectGoogle(calendar.user, calendar.account, calendar.calendarId);
    assert.equal(setup.calendar_id, calendar.calendarId);
    return { ...calendar, connectionId: setup.connection.id };
  });
}

/** A request to the Calendar API as the calendar's user (a second app of theirs). */
async function calendarRequest(
  calendar: Omit<WatchedCalendar, "connectionId">,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const token = await emulatorAccessToken(calendar.account);
  const response = await fetch(
    `${stack.googleEmulatorUrl}/calendar/v3/calendars/${
      encodeURIComponent(calendar.calendarId)
    }${path}`,
    {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    },
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

function timedEvent(startMs: number) {
  return {
    summary: "Simulated change",
    start: { dateTime: new Date(startMs).toISOString() },
    end: { dateTime: new Date(startMs + HOUR).toISOString() },
  };
}

async function insertEvent(calendar: WatchedCalendar, startMs: number): Promise<string> {
  const answer = await calendarRequest(calendar, "POST", "/events", timedEvent(startMs));
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body!.id as string;
}

const accessTokens = new Map<string, string>();
/** The user's own access token, cached: the simulation makes tokens outlive it. */
async function emulatorAccessToken(account: GoogleAccount): Promise<string> {
  let token = accessTokens.get(account.refresh_token);
  if (!token) {
    token = await accountAccessToken(account.refresh_token);
    accessTokens.set(account.refresh_token, token);
  }
  return token;
}

/** The emulator's channels of these calendars, grouped by calendar. */
async function channelsByCalendar(calendarIds: string[]) {
  const wanted = new Set(calendarIds);
  const byCalendar = new Map<string, EmulatorChannel[]>(calendarIds.map((id) => [id, []]));
  for (const channel of await emulatorChannels()) {
    if (wanted.has(channel.calendarId)) byCalendar.get(channel.calendarId)!.push(channel);
  }
  return byCalendar;
}

/** The database's live channels of these connections: `calendar id → channel ids` by status. */
async function databaseChannels(sql: Sql, connectionIds: string[]) {
  const rows = await sql`select calendar_id, channel_id, status
    from public.calendar_webhook_channels
    where connection_id = any(${connectionIds}::uuid[]) and provider = 'google'`;
  const active = new Map<string, string[]>();
  const all = new Set<string>();
  for (const row of rows) {
    all.add(row.channel_id);
    if (row.status !== "active") continue;
    active.set(row.calendar_id, [...active.get(row.calendar_id) ?? [], row.channel_id]);
  }
  return { active, all };
}

/**
 * What a user relies on at any moment: Google holds exactly one live channel for each calendar,
 * and it is the one the database holds active (no orphan either way).
 */
async function assertOneLiveChannelEach(sql: Sql, calendars: WatchedCalendar[], when: string) {
  const calendarIds = calendars.map((calendar) => calendar.calendarId);
  const live = await channelsByCalendar(calendarIds);
  const recorded = await databaseChannels(sql, [...new Set(calendars.map((c) => c.connectionId))]);
  for (const calendarId of calendarIds) {
    const atGoogle = live.get(calendarId)!.filter((channel) => channel.status === "active");
    assert.equal(atGoogle.length, 1, `${when}: ${calendarId} has ${atGoogle.length} live channels`);
    assert.deepEqual(
      recorded.active.get(calendarId) ?? [],
      [atGoogle[0].id],
      `${when}: the database's active channel of ${calendarId} is the one live at Google`,
    );
  }
}

/** Emulator settings changed for `work` and restored afterwards. */
async function withEmulatorConfig<T>(patch: Record<string, unknown>, work: () => Promise<T>) {
  const before = await emulator<Record<string, unknown>>("/config");
  await emulator("/config", patch);
  try {
    return await work();
  } finally {
    await emulator(
      "/config",
      Object.fromEntries(Object.keys(patch).map((key) => [key, before[key]])),
    );
  }
}

/**
 * A simulation: pg_cron's schedule of the maintenance job paused, both clocks and the
 * emulator's settings restored afterwards. Access tokens live for the whole simulation: the
 * functions stamp a token's expiry with the real clock, the database judges it with app_now(),
 * so with hour-long tokens every simulated jump would refresh every calendar's token.
 */
async function simulate<T>(sql: Sql, work: () => Promise<T>): Promise<T> {
  try {
    await resetSimulatedClocks(sql);
    return await withCronJobPaused(
      sql,
      MAINTENANCE_JOB,
      () => withEmulatorConfig({ accessTokenTtlSeconds: 60 * 86_400 }, work),
    );
  } finally {
    await emulator("/drops", { next: 0, ratio: 0 });
    await resetSimulatedClocks(sql);
  }
}

/** One pg_cron tick of the maintenance job at the current simulated time, worked to the end. */
async function maintenanceTick(sql: Sql, connectionIds: string[]) {
  await runCronJob(sql, MAINTENANCE_JOB);
  await untilCalendarsSettle(sql, connectionIds);
}

async function syncGenerations(sql: Sql, connectionIds: string[]) {
  const rows = await sql`select calendar_id, generation, last_full_sync_at, full_sync_required,
      cursor is not null as has_cursor
    from public.calendar_sync_state where connection_id = any(${connectionIds}::uuid[])`;
  return new Map(rows.map((row) => [row.calendar_id as string, row]));
}

const ceilToMinute = (ms: number) => Math.ceil(ms / MINUTE) * MINUTE;
/** How many of the cleanup job's daily runs (04:23 UTC, its schedule) have come by `ms`. */
const cleanupRunsBy = (ms: number) => Math.floor((ms - (4 * HOUR + 23 * MINUTE)) / DAY);

Deno.test("30 simulated days, 200 calendars of 50 users: always covered, renewed before expiry, no full resync, no orphans", async () => {
  const sql = connectDb();
  try {
    await simulate(sql, async () => {
      const created = await createCalendars(sql, "lifecycle", 50, 4);
      const start = await databaseNow(sql);
      // Four cohorts connected 4 minutes apart: their renewals fall on four ticks, the first
      // of which also runs every calendar's backup sync (renewal together with a sync), the
      // others renewal alone (the calendars were synced less than 15 minutes before).
      const calendars: WatchedCalendar[] = [];
      const connectedAt = new Map<string, number>();
      for (let cohort = 0; cohort < 4; cohort++) {
        if (cohort > 0) await advanceSimulatedClocks(sql, 4 * MINUTE);
        const connected = await connectAll(created.filter((_, i) => i % 4 === cohort));
        const at = await databaseNow(sql);
        for (const calendar of connected) connectedAt.set(calendar.calendarId, at);
        calendars.push(...connected);
      }
      const connectionIds = [...new Set(calendars.map((calendar) => calendar.connectionId))];
      const calendarIds = calendars.map((calendar) => calendar.calendarId);
      await untilCalendarsSettle(sql, connectionIds);
      const initial = await syncGenerations(sql, connectionIds);
      const end = start + 30 * DAY;

      let ticks = 0;
      let cleanupRuns = cleanupRunsBy(start);
      let changes = 0;
      for (;;) {
        const now = await databaseNow(sql);
        // Straight to the next pg_cron minute at which a channel becomes due (the spec: it
        // expires within the lead). The minutes skipped would only have run backup syncs.
        const live = [...(await channelsByCalendar(calendarIds)).values()].flat()
          .filter((channel) => channel.status === "active");
        const due = Math.min(...live.map((channel) => channel.expiration - RENEW_LEAD));
        const next = ceilToMinute(Math.max(now + MINUTE, due));
        if (next > end) break;
        await advanceSimulatedClocks(sql, next - now);
        if (cleanupRunsBy(next) > cleanupRuns) {
          // The daily cleanup came by in the minutes skipped: it runs (once) before this tick.
          await runCronJob(sql, CLEANUP_JOB);
          cleanupRuns = cleanupRunsBy(next);
        }
        await maintenanceTick(sql, connectionIds);
        ticks++;

        const at = `day ${((next - start) / DAY).toFixed(2)}`;
        await assertOneLiveChannelEach(sql, calendars, at);
        const after = await databaseNow(sql);
        for (const channels of (await channelsByCalendar(calendarIds)).values()) {
          for (const channel of channels.filter((c) => c.status === "active")) {
            assert.ok(
              channel.expiration > next + RENEW_LEAD,
              `${at}: every channel due for renewal was renewed at this tick`,
            );
          }
        }
        // Users keep changing their calendars; pushes carry the changes in.
        for (let i = 0; i < 5; i++) {
          await insertEvent(calendars[(ticks * 7 + i * 41) % calendars.length], after + 2 * DAY);
          changes++;
        }
        await untilCalendarsSettle(sql, connectionIds);
      }
      const finish = await databaseNow(sql);

      // A live channel at every instant since each calendar was connected, for every calendar.
      for (const since of new Set(connectedAt.values())) {
        const cohort = calendarIds.filter((id) => connectedAt.get(id) === since);
        for (const coverage of await channelCoverage(cohort, since, finish)) {
          assert.ok(
            coverage.covered,
            `${coverage.calendarId} was uncovered: ${JSON.stringify(coverage.gaps)}`,
          );
        }
      }
      // Every replaced channel was stopped before it expired (renewed, never left to lapse).
      const history = await channelsByCalendar(calendarIds);
      let renewals = 0;
      for (const [calendarId, channels] of history) {
        const ended = channels.filter((channel) => channel.status !== "active");
        renewals += ended.length;
        for (const channel of ended) {
          assert.equal(channel.stopReason, "channels.stop", `${calendarId}: ${channel.id}`);
          assert.ok(channel.stopped! < channel.expiration, `${channel.id} stopped before expiry`);
        }
        // Channels live 7 days and are renewed a day early: 4 renewals in 30 days, no more.
        assert.equal(ended.length, 4, `${calendarId} was renewed ${ended.length} times`);
      }
      // Renewal never forced a full sync: still the initial full sync's generation, every
      // sync since an incremental one from the stored sync token, and the mirror holds every
      // change.
      const final = await syncGenerations(sql, connectionIds);
      for (const [calendarId, state] of final) {
        assert.equal(state.generation, initial.get(calendarId)!.generation, calendarId);
        assert.deepEqual(state.last_full_sync_at, initial.get(calendarId)!.last_full_sync_at);
        assert.ok(state.has_cursor && !state.full_sync_required, calendarId);
      }
      await assertOneLiveChannelEach(sql, calendars, "after 30 days");
      for (const calendar of calendars) {
        assert.ok(
          await mirrorMatchesTruth(sql, calendar.connectionId, calendar.calendarId),
          `${calendar.calendarId}: the mirror matches Google after 30 days`,
        );
      }
      // The daily cleanup keeps the last 7 simulated days of channel history and drops what is
      // older: it judges by the database's clock, as every other decision does.
      await runCronJob(sql, CLEANUP_JOB);
      const onRecord = (await databaseChannels(sql, connectionIds)).all;
      for (const channel of [...history.values()].flat()) {
        if (channel.stopped === null) continue;
        const days = (finish - channel.stopped) / DAY;
        if (days < 6.9) assert.ok(onRecord.has(channel.id), `stopped ${days} days ago: kept`);
        if (days > 7.1) assert.ok(!onRecord.has(channel.id), `stopped ${days} days ago: gone`);
      }
      console.log(
        `  30 days: ${ticks} ticks, ${renewals} renewals of ${calendars.length} calendars, ` +
          `${changes} changes`,
      );
    });
  } finally {
    await sql.end();
  }
});

/** Moves both clocks to `target` (epoch ms), if it is still ahead. */
async function advanceTo(sql: Sql, target: number) {
  const now = await databaseNow(sql);
  if (target > now) await advanceSimulatedClocks(sql, target - now);
}

/** A small seeded PRNG (mulberry32), so a failure replays the same changes. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("20 % of notifications dropped: every change reaches the mirror within one backup period (15 simulated minutes)", async () => {
  const sql = connectDb();
  try {
    await simulate(sql, async () => {
      const calendars = await connectAll(await createCalendars(sql, "dropped", 10, 4));
      const connectionIds = [...new Set(calendars.map((calendar) => calendar.connectionId))];
      await untilCalendarsSettle(sql, connectionIds);
      type Deliveries = { deliveries: { outcome: string }[] };
      const deliveredBefore = (await emulator<Deliveries>("/deliveries")).deliveries.length;
      await emulator("/drops", { ratio: 0.2, seed: 20 });
      const random = seededRandom(20);
      const start = ceilToMinute(await databaseNow(sql));

      // event id → its calendar and the simulated time just before its last change
      const lastChange = new Map<string, { calendar: WatchedCalendar; at: number }>();
      const ours = new Map<string, string[]>(calendars.map((c) => [c.calendarId, []]));
      const change = async (calendar: WatchedCalendar) => {
        const events = ours.get(calendar.calendarId)!;
        const at = await databaseNow(sql);
        const pick = random();
        if (events.length === 0 || pick < 0.5) {
          const id = await insertEvent(
            calendar,
            at + DAY + Math.floor(random() * 96) * 15 * MINUTE,
          );
          events.push(id);
          lastChange.set(id, { calendar, at });
        } else if (pick < 0.8) {
          const id = events[Math.floor(random() * events.length)];
          const moved = await calendarRequest(
            calendar,
            "PATCH",
            `/events/${id}`,
            timedEvent(at + 2 * DAY + Math.floor(random() * 96) * 15 * MINUTE),
          );
          assert.equal(moved.status, 200, JSON.stringify(moved.body));
          lastChange.set(id, { calendar, at });
        } else {
          const id = events.splice(Math.floor(random() * events.length), 1)[0];
          const deleted = await calendarRequest(calendar, "DELETE", `/events/${id}`);
          assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
          lastChange.set(id, { calendar, at });
        }
      };

      // Every change at least 15 simulated minutes old is in the mirror as Google has it.
      let checkedUpTo = -Infinity;
      const checked = new Set<string>();
      const check = async () => {
        const horizon = (await databaseNow(sql)) - BACKUP_PERIOD;
        const due = [...lastChange].filter(([, c]) => c.at > checkedUpTo && c.at <= horizon);
        const byCalendar = Map.groupBy(due, ([, c]) => c.calendar);
        for (const [calendar, events] of byCalendar) {
          const [google, app] = await Promise.all([
            truth(calendar.calendarId),
            mirror(sql, calendar.connectionId, calendar.calendarId),
          ]);
          for (const [id, { at }] of events) {
            assert.deepEqual(
              app.get(id),
              google.get(id),
              `${calendar.calendarId}: event ${id} changed at minute ${
                ((at - start) / MINUTE).toFixed(2)
              } is not in the mirror as Google has it ${
                ((horizon - at) / MINUTE + 15).toFixed(1)
              } minutes later`,
            );
            checked.add(id);
          }
        }
        checkedUpTo = horizon;
      };

      for (let minute = 1; minute <= 48; minute++) {
        await advanceTo(sql, start + minute * MINUTE);
        await maintenanceTick(sql, connectionIds);
        await check();
        if (minute <= 30) {
          // Two changes in a row: the first one's push (when delivered) syncs the calendar
          // at once, so a dropped push of the second is left to the backup sync alone.
          for (let i = 0; i < 2; i++) {
            const calendar = calendars[Math.floor(random() * calendars.length)];
            for (let n = 0; n < 2; n++) {
              await change(calendar);
              await untilCalendarsSettle(sql, connectionIds);
            }
          }
        }
        // Half-way between two ticks too: the bound holds at every instant, not only at ticks.
        await advanceTo(sql, start + minute * MINUTE + 30_000);
        await check();
      }

      const deliveries = (await emulator<Deliveries>("/deliveries")).deliveries
        .slice(deliveredBefore);
      const dropped = deliveries.filter((delivery) => delivery.outcome === "dropped").length;
      assert.ok(dropped >= 10, `the fault fired: ${dropped} notifications dropped`);
      assert.equal(checked.size, lastChange.size, "every changed event was checked");
      for (const calendar of calendars) {
        assert.ok(await mirrorMatchesTruth(sql, calendar.connectionId, calendar.calendarId));
      }
    });
  } finally {
    await sql.end();
  }
});

interface TakenItem {
  connection_id: string;
  calendar_id: string;
  claim: string;
  reasons: string[];
}

/** Gives back claims taken by a test's own call of maintenance_take_due. */
async function releaseClaims(sql: Sql, items: TakenItem[]) {
  for (const item of items) {
    await sql`select public.maintenance_release(${item.connection_id}::uuid, ${item.calendar_id},
      ${item.claim}::uuid, null)`;
  }
}

Deno.test("overlapping maintenance runs never take or renew a calendar twice, and every replaced channel is stopped", async () => {
  const sql = connectDb();
  // One connection per concurrent run, as pg_cron's background workers have.
  const runners = postgres(stack.dbUrl, { max: 12, onnotice: () => {} });
  try {
    await simulate(sql, async () => {
      const calendars = await connectAll(await createCalendars(sql, "overlap", 10, 4));
      const connectionIds = [...new Set(calendars.map((calendar) => calendar.connectionId))];
      const calendarIds = calendars.map((calendar) => calendar.calendarId);
      await untilCalendarsSettle(sql, connectionIds);
      const opened = await channelsByCalendar(calendarIds);
      // Six days later every channel is within a day of expiring: all 40 are due at once.
      await advanceSimulatedClocks(sql, 6 * DAY + MINUTE);

      // The claim: runs that overlap hand out every calendar at most once between them.
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(
          Array.from({ length: 8 }, () => runners`select public.maintenance_take_due() as taken`),
        );
        const taken = answers.flatMap(([row]) => row.taken as TakenItem[]);
        const times = Map.groupBy(taken, (item) => `${item.connection_id} ${item.calendar_id}`);
        const twice = [...times].filter(([, items]) => items.length > 1).map(([key]) => key);
        assert.deepEqual(twice, [], `round ${round}: calendars taken by two runs at once`);
        assert.ok(calendarIds.every((id) => taken.some((item) => item.calendar_id === id)));
        await releaseClaims(sql, taken);
      }

      // The whole path: six cron runs at once, and every user pressing "refresh" meanwhile.
      const users = [...new Map(calendars.map((c) => [c.user.id, c.user])).values()];
      const refreshes = users.map(async (user) => {
        const { status, body: report } = await callFunction<{ failed: unknown[] }>(
          "refresh-calendar-webhook",
          user.jwt,
        );
        assert.equal(status, 200, JSON.stringify(report));
        assert.deepEqual(report.failed, []);
      });
      const job = (await sql`select command from cron.job where jobname = ${MAINTENANCE_JOB}`)[0];
      await Promise.all([
        ...Array.from({ length: 6 }, () => runners.unsafe(job.command)),
        ...refreshes,
      ]);
      await untilCalendarsSettle(sql, connectionIds);

      await assertOneLiveChannelEach(sql, calendars, "after overlapping runs");
      const after = await channelsByCalendar(calendarIds);
      for (const calendarId of calendarIds) {
        const channels = after.get(calendarId)!;
        assert.equal(channels.length, 2, `${calendarId}: renewed once, not ${channels.length - 1}`);
        const [original] = opened.get(calendarId)!;
        const replaced = channels.find((channel) => channel.id === original.id)!;
        assert.equal(replaced.status, "stopped", `${calendarId}: the replaced channel`);
        assert.equal(replaced.stopReason, "channels.stop");
      }
      const [{ failures }] = await sql`select count(*)::int as failures
        from public.calendar_sync_state
        where connection_id = any(${connectionIds}::uuid[]) and maintenance_failures > 0`;
      assert.equal(failures, 0, "no run failed on a calendar another run held");
    });
  } finally {
    await runners.end();
    await sql.end();
  }
});

/** Where a maintenance worker died while renewing a calendar's channel (channels.ts). */
type CrashPoint =
  | "claimed"
  | "recorded"
  | "watched"
  | "watched, sync message lost"
  | "activated"
  | "stopped at Google";

/**
 * A maintenance worker's renewal of one calendar under its claim, step by step as
 * providers/google/channels.ts does it (the same SQL functions and Google calls), cut off
 * after `crash`.
 */
async function renewUntilCrash(
  sql: Sql,
  calendar: WatchedCalendar,
  item: TakenItem,
  crash: CrashPoint,
) {
  if (crash === "claimed") return;
  const channelId = crypto.randomUUID();
  const token = crypto.randomUUID();
  const [{ id: rowId }] = await sql`select public.channel_record_pending(
    ${item.connection_id}::uuid, ${item.calendar_id}, ${item.claim}::uuid, ${channelId},
    ${await sha256Hex(token)}) as id`;
  if (crash === "recorded") return;
  if (crash === "watched, sync message lost") await emulator("/drops", { next: 1 });
  const watch = await calendarRequest(calendar, "POST", "/events/watch", {
    id: channelId,
    type: "web_hook",
    address: stack.functionUrl("google-calendar-webhook"),
    token,
    params: { ttl: "604800" },
  });
  assert.equal(watch.status, 200, JSON.stringify(watch.body));
  if (crash.startsWith("watched")) return;
  const [{ replaced }] = await sql`select public.channel_activate(${item.claim}::uuid,
    ${rowId}::uuid, ${watch.body!.resourceId as string}, ${watch.body!.resourceUri as string},
    ${new Date(Number(watch.body!.expiration)).toISOString()}::timestamptz) as replaced`;
  if (crash === "activated") return;
  const token2 = await emulatorAccessToken(calendar.account);
  for (const channel of replaced as { channel_id: string; resource_id: string }[]) {
    const stopped = await fetch(`${stack.googleEmulatorUrl}/calendar/v3/channels/stop`, {
      method: "POST",
      headers: { authorization: `Bearer ${token2}`, "content-type": "application/json" },
      body: JSON.stringify({ id: channel.channel_id, resourceId: channel.resource_id }),
    });
    assert.equal(stopped.status, 204);
    await stopped.body?.cancel();
  }
}

Deno.test("a maintenance batch that died anywhere in a renewal is finished by the next run once its leases ran out", async () => {
  const sql = connectDb();
  try {
    await simulate(sql, async () => {
      const crashes: CrashPoint[] = [
        "claimed",
        "recorded",
        "watched",
        "watched, sync message lost",
        "activated",
        "stopped at Google",
      ];
      const calendars = await connectAll(await createCalendars(sql, "crashed", 2, 3));
      const connectionIds = [...new Set(calendars.map((calendar) => calendar.connectionId))];
      await untilCalendarsSettle(sql, connectionIds);
      await advanceSimulatedClocks(sql, 6 * DAY + MINUTE);

      // A dispatch's claims (maintenance_take_due), then a worker that died part-way through
      // the batch: each calendar at another step of its renewal.
      const [{ taken }] = await sql`select public.maintenance_take_due() as taken`;
      const mine = new Map(calendars.map((calendar) => [calendar.calendarId, calendar]));
      const batch = (taken as TakenItem[]).filter((item) => mine.has(item.calendar_id));
      assert.equal(batch.length, calendars.length, "every calendar was due and claimed");
      await releaseClaims(sql, (taken as TakenItem[]).filter((i) => !mine.has(i.calendar_id)));
      for (const [index, item] of batch.entries()) {
        await renewUntilCrash(sql, mine.get(item.calendar_id)!, item, crashes[index]);
      }
      await emulator("/deliveries/flush", {});
      const snapshot = async () => [
        ...await sql`select channel_id, status, resource_id from public.calendar_webhook_channels
          where connection_id = any(${connectionIds}::uuid[]) order by channel_id`,
      ];
      const before = await snapshot();

      // A minute later the leases still hold: the next run leaves these calendars alone.
      await advanceSimulatedClocks(sql, MINUTE);
      await runCronJob(sql, MAINTENANCE_JOB);
      await eventually(async () => {
        const [{ queued }] = await sql`select count(*)::int as queued from net.http_request_queue`;
        return queued === 0;
      });
      assert.deepEqual(await snapshot(), before, "a held calendar is not touched");

      // Once the leases ran out (2 minutes), the next run finishes every one of them.
      await advanceSimulatedClocks(sql, 2 * MINUTE);
      await maintenanceTick(sql, connectionIds);
      const history = await channelsByCalendar(calendars.map((calendar) => calendar.calendarId));
      for (const [index, item] of batch.entries()) {
        const live = history.get(item.calendar_id)!.filter((c) => c.status === "active");
        assert.equal(
          live.length,
          1,
          `died after "${crashes[index]}": ${live.length} live channels`,
        );
        assert.ok(live[0].expiration > (await databaseNow(sql)) + RENEW_LEAD, "and it is not due");
      }
      await assertOneLiveChannelEach(sql, calendars, "after the dead batch was taken again");
      const left = await sql`select calendar_id, status from public.calendar_webhook_channels
        where connection_id = any(${connectionIds}::uuid[]) and status in ('pending', 'stopping')`;
      assert.deepEqual([...left], [], "nothing left pending or to stop");
      const [{ failures }] = await sql`select count(*)::int as failures
        from public.calendar_sync_state
        where connection_id = any(${connectionIds}::uuid[])
          and (maintenance_failures > 0 or maintenance_claim is not null)`;
      assert.equal(failures, 0);
    });
  } finally {
    await sql.end();
  }
});

Deno.test("a quiet calendar is backed up by the last run before it would go a whole backup period without a sync", async () => {
  const sql = connectDb();
  try {
    await simulate(sql, async () => {
      const [calendar] = await connectAll(await createCalendars(sql, "quiet", 1, 1));
      await untilCalendarsSettle(sql, [calendar.connectionId]);
      const [{ synced }] = await sql`select last_synced_at as synced from public.calendar_sync_state
        where connection_id = ${calendar.connectionId}`;
      // pg_cron runs the job every minute: the run 14 minutes after the sync is the last one
      // before the calendar would have gone 15 minutes without one.
      const reasonsAt = async (afterSync: number) => {
        await advanceTo(sql, synced.getTime() + afterSync);
        const [{ taken }] = await sql`select public.maintenance_take_due() as taken`;
        await releaseClaims(sql, taken);
        return (taken as TakenItem[]).find((item) => item.calendar_id === calendar.calendarId)
          ?.reasons ?? [];
      };
      assert.deepEqual(await reasonsAt(13 * MINUTE + 50_000), [], "not yet");
      assert.deepEqual(await reasonsAt(14 * MINUTE), ["backup"]);
    });
  } finally {
    await sql.end();
  }
});

Deno.test("a maintenance worker killed (SIGKILL) in the middle of a batch: the next run finishes it, one live channel each", async () => {
  const sql = connectDb();
  const worker = "function-refresh-calendar-webhook";
  try {
    await simulate(sql, async () => {
      const calendars = await connectAll(await createCalendars(sql, "killed", 4, 5));
      const connectionIds = [...new Set(calendars.map((calendar) => calendar.connectionId))];
      const calendarIds = calendars.map((calendar) => calendar.calendarId);
      await untilCalendarsSettle(sql, connectionIds);
      const opened = (await emulatorChannels()).filter((c) => calendarIds.includes(c.calendarId));
      await advanceSimulatedClocks(sql, 6 * DAY + MINUTE);

      // A slow Google keeps the batch in flight; the worker dies once some renewals are done.
      await emulator("/latency", { ms: 80 });
      let killedPid = 0;
      try {
        await runCronJob(sql, MAINTENANCE_JOB);
        await eventually(async () => {
          const now = (await emulatorChannels()).filter((c) => calendarIds.includes(c.calendarId));
          return now.length >= opened.length + 3;
        }, { timeoutMs: 30_000, intervalMs: 5, message: "the first renewals" });
        killedPid = (await stackPartPid(worker))!;
        Deno.kill(killedPid, "SIGKILL");
      } finally {
        await emulator("/latency", { ms: 0 });
      }
      await eventually(async () => {
        const pid = await stackPartPid(worker);
        return pid !== null && pid !== killedPid;
      }, { timeoutMs: 15_000, message: "the supervisor restarting the worker" });
      const [{ held }] = await sql`select count(*)::int as held from public.calendar_sync_state
        where connection_id = any(${connectionIds}::uuid[]) and maintenance_claim is not null`;
      assert.ok(held > 0, "the kill left calendars of the batch claimed");

      // Once the leases ran out, the next run finishes the batch.
      await advanceSimulatedClocks(sql, 3 * MINUTE);
      await maintenanceTick(sql, connectionIds);
      await assertOneLiveChannelEach(sql, calendars, "after the killed batch was taken again");
      const left = await sql`select status from public.calendar_webhook_channels
        where connection_id = any(${connectionIds}::uuid[]) and status in ('pending', 'stopping')`;
      assert.deepEqual([...left], [], "nothing left pending or to stop");
      const now = await databaseNow(sql);
      for (const [calendarId, channels] of await channelsByCalendar(calendarIds)) {
        const live = channels.filter((channel) => channel.status === "active");
        assert.ok(live[0].expiration > now + RENEW_LEAD, `${calendarId}: renewed`);
      }
    });
  } finally {
    await sql.end();
  }
});

Deno.test("a worker that stalled past its lease cannot make its channel the active one after another run took over", async () => {
  const sql = connectDb();
  try {
    await simulate(sql, async () => {
      const calendars = await connectAll(await createCalendars(sql, "stalled", 1, 1));
      const [calendar] = calendars;
      await untilCalendarsSettle(sql, [calendar.connectionId]);
      await advanceSimulatedClocks(sql, 6 * DAY + MINUTE);
      const [{ taken }] = await sql`select public.maintenance_take_due() as taken`;
      const item = (taken as TakenItem[]).find((i) => i.calendar_id === calendar.calendarId)!;
      await releaseClaims(sql, (taken as TakenItem[]).filter((i) => i !== item));

      // Worker A opens a channel at Google, then hangs (a slow Google) past its 2-minute lease.
      await renewUntilCrash(sql, calendar, item, "watched");
      const [pending] = await sql`select id, channel_id, resource_id
        from public.calendar_webhook_channels
        where connection_id = ${calendar.connectionId} and status = 'pending'`;
      await advanceSimulatedClocks(sql, 3 * MINUTE);
      // The next run takes the calendar over: a channel of its own, A's stopped at Google.
      await maintenanceTick(sql, [calendar.connectionId]);
      await assertOneLiveChannelEach(sql, calendars, "after the takeover");

      // A wakes up and activates its channel, as channels.ts does: refused.
      await assert.rejects(
        sql`select public.channel_activate(${item.claim}::uuid, ${pending.id}::uuid,
          ${pending.resource_id}, null, ${new Date(Date.now() + 7 * DAY)}::timestamptz)`,
        /no longer pending under maintenance claim/,
      );
      await assertOneLiveChannelEach(sql, calendars, "after the stalled worker woke up");
    });
  } finally {
    await sql.end();
  }
});
