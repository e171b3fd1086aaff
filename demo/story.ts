// The end-to-end story `make demo` tells, against the running local stack and its Google,
// Calendly and Notion emulators. Everything goes through the same doors the real callers use:
// the emulators (as the user editing their calendar, an invitee booking, a teammate dating a
// page), the gateway's functions (as the app) and PostgREST (as the app's UI reading the mirror
// and the plan).
import { Temporal } from "temporal-polyfill";
import { connectDb, createUser, eventually, rest, stack } from "../devkit/stack.ts";
import { calendarApi, connectGoogle, createGoogleAccount, emulator } from "../devkit/google.ts";
import { book, calendly, connectCalendly, createCalendlyAccount } from "../devkit/calendly.ts";
import {
  addPage,
  connectNotion,
  createNotionWorkspace,
  subscribeWebhooks,
} from "../devkit/notion.ts";
import { showStatusPage } from "./screenshot.ts";

const TIME_ZONE = "America/New_York";
const bold = (text: string) => `\x1b[1m${text}\x1b[0m`;
const step = (text: string) => console.log(`\n${bold("▶ " + text)}`);
const local = (iso: string | Date) =>
  new Date(iso).toLocaleString("en-US", {
    timeZone: TIME_ZONE,
    weekday: "short",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });

/** `hour`:00 local time on the `workdaysAhead`-th weekday from today, as an instant. */
function nextWorkday(hour: number, workdaysAhead = 1): Date {
  let day = Temporal.Now.zonedDateTimeISO(TIME_ZONE).with({
    hour,
    minute: 0,
    second: 0,
    millisecond: 0,
    microsecond: 0,
    nanosecond: 0,
  });
  let remaining = workdaysAhead;
  while (remaining > 0) {
    day = day.add({ days: 1 });
    if (day.dayOfWeek <= 5) remaining--;
  }
  return new Date(day.epochMilliseconds);
}

const sql = connectDb();
try {
  step("The local stack is up");
  const health = await fetch(`${stack.apiUrl}/health`).then((response) => response.json());
  console.log(`  gateway ${stack.apiUrl} serves: ${health.functions.join(", ")}`);

  await emulator("/counters/reset", {});

  step("A user signs in and connects Google Calendar");
  const user = await createUser(sql, "demo");
  const account = await createGoogleAccount(user, TIME_ZONE);
  const meetings = [
    { summary: "Team stand-up", start: nextWorkday(9), minutes: 30 },
    { summary: "Customer call", start: nextWorkday(14), minutes: 60 },
    { summary: "1:1 with Sam", start: nextWorkday(11, 2), minutes: 45 },
  ];
  const created: Record<string, string> = {};
  for (const meeting of meetings) {
    const response = await calendarApi(account, "/events", {
      method: "POST",
      body: JSON.stringify({
        summary: meeting.summary,
        start: { dateTime: meeting.start.toISOString(), timeZone: TIME_ZONE },
        end: {
          dateTime: new Date(meeting.start.getTime() + meeting.minutes * 60_000).toISOString(),
          timeZone: TIME_ZONE,
        },
      }),
    }).then((answer) => answer.json());
    created[meeting.summary] = response.id;
  }
  await sql`insert into public.scheduling_preferences (user_id, time_zone, freeze_hours, horizon_days,
      buffer_before_minutes, buffer_after_minutes)
    values (${user.id}, ${TIME_ZONE}, 0, 7, 10, 10)`;
  for (
    const [title, minutes, priority] of [["Write the quarterly report", 120, 1], [
      "Review pull requests",
      60,
      2,
    ], ["Plan the next sprint", 45, 3]] as const
  ) {
    // Not before two hours from now: a block that has started is frozen, and the story books
    // meetings over blocks to show them move.
    await sql`insert into public.sessions (user_id, title, duration_minutes, priority,
        earliest_start, deadline)
      values (${user.id}, ${title}, ${minutes}, ${priority}, now() + interval '2 hours',
        ${new Date(Date.now() + 6 * 86_400_000)})`;
  }
  const setup = await connectGoogle(user, account);
  console.log(`  setup-calendar-webhook answered through the gateway:`);
  console.log(`    connection ${setup.connection.id} (${setup.connection.status})`);
  console.log(`    push channel ${setup.channel.id}, expires ${setup.channel.expiration}`);
  console.log(
    `    initial ${
      setup.sync.full_sync ? "full" : "incremental"
    } sync: ${setup.sync.events_synced} events`,
  );

  const showPlan = async (title: string) => {
    const response = await rest(
      `/sessions?select=title,status,unscheduled_reason,session_blocks(starts_at,ends_at)&order=priority`,
      { jwt: user.jwt },
    );
    const sessions = await response.json();
    console.log(`  ${title}`);
    for (const session of sessions) {
      const blocks = session.session_blocks.map((block: { starts_at: string; ends_at: string }) =>
        `${local(block.starts_at)} → ${local(block.ends_at).split(", ").pop()}`
      ).join("; ");
      console.log(
        `    ${session.title.padEnd(28)} ${session.status.padEnd(11)} ${
          blocks || session.unscheduled_reason || ""
        }`,
      );
    }
    return sessions as {
      title: string;
      session_blocks: { starts_at: string; ends_at: string }[];
    }[];
  };

  step("The sessions are planned around the user's meetings");
  await eventually(async () => {
    const [run] = await sql`select id from public.schedule_runs where user_id = ${user.id} limit 1`;
    if (run) return run;
    // The first plan comes from the sync's busy-time change; ask directly if it has not yet.
    await fetch(stack.functionUrl("recalculate-schedule"), {
      method: "POST",
      headers: { authorization: `Bearer ${user.jwt}`, "content-type": "application/json" },
      body: "{}",
    }).then((answer) => answer.body?.cancel());
    return null;
  }, { timeoutMs: 15_000, message: "a first plan" });
  const before = await showPlan("Plan:");

  step("A meeting lands on top of the first session, in Google Calendar");
  const target = before.find((session) => session.session_blocks.length > 0)!;
  const block = target.session_blocks[0];
  const [runsBefore] =
    await sql`select count(*)::int as n from public.schedule_runs where user_id = ${user.id}`;
  const clash = await calendarApi(account, "/events", {
    method: "POST",
    body: JSON.stringify({
      summary: "Urgent: board prep",
      start: { dateTime: block.starts_at },
      end: { dateTime: new Date(Date.parse(block.starts_at) + 3600_000).toISOString() },
    }),
  }).then((answer) => answer.json());
  console.log(`  "Urgent: board prep" at ${local(block.starts_at)} (over "${target.title}")`);
  const started = performance.now();
  await eventually(async () => {
    const [row] = await sql`select 1 from public.calendar_events where external_id = ${clash.id}`;
    return row;
  }, { timeoutMs: 10_000, message: "the mirror" });
  console.log(
    `  Google → push notification → mirror in ${Math.round(performance.now() - started)} ms`,
  );
  const run = await eventually(async () => {
    const [row] = await sql`select trigger, moved, kept, placed from public.schedule_runs
      where user_id = ${user.id} order by created_at desc offset 0 limit 1`;
    const [count] =
      await sql`select count(*)::int as n from public.schedule_runs where user_id = ${user.id}`;
    return count.n > runsBefore.n ? row : null;
  }, { timeoutMs: 15_000, message: "the recalculation" });
  console.log(
    `  recalculate-schedule (${run.trigger}): moved ${run.moved}, kept ${run.kept}, placed ${run.placed}`,
  );
  await showPlan("Plan after the meeting landed:");

  step("The user moves a meeting and deletes another; the mirror follows");
  const standUp = meetings[0];
  const later = new Date(standUp.start.getTime() + 30 * 60_000);
  await calendarApi(account, `/events/${created["Team stand-up"]}`, {
    method: "PATCH",
    body: JSON.stringify({
      start: { dateTime: later.toISOString() },
      end: { dateTime: new Date(later.getTime() + 30 * 60_000).toISOString() },
    }),
  }).then((answer) => answer.body?.cancel());
  await calendarApi(account, `/events/${created["1:1 with Sam"]}`, { method: "DELETE" })
    .then((answer) => answer.body?.cancel());
  await eventually(async () => {
    const rows = await sql`select external_id, starts_at from public.calendar_events
      where user_id = ${user.id}`;
    const standUpRow = rows.find((row) => row.external_id === created["Team stand-up"]);
    const gone = !rows.some((row) => row.external_id === created["1:1 with Sam"]);
    return gone && standUpRow?.starts_at.getTime() === later.getTime();
  }, { timeoutMs: 10_000, message: "the mirror to follow" });
  const mirrorRows = await rest(`/calendar_events?select=summary,starts_at&order=starts_at`, {
    jwt: user.jwt,
  }).then((answer) => answer.json());
  console.log("  The app's mirror (read through PostgREST with the user's JWT):");
  for (const row of mirrorRows) {
    console.log(`    ${local(row.starts_at).padEnd(24)} ${row.summary}`);
  }
  const counters = await emulator<{ counts: Record<string, number> }>("/counters");
  console.log(`  Google API calls in this story: ${JSON.stringify(counters.counts)}`);

  /** Waits for the user's next recalculation run after `runsBefore` and prints it. */
  const nextRun = async (runsBefore: number) => {
    const row = await eventually(async () => {
      const [latest] = await sql`select trigger, moved, kept, placed from public.schedule_runs
        where user_id = ${user.id} order by created_at desc limit 1`;
      const [count] =
        await sql`select count(*)::int as n from public.schedule_runs where user_id = ${user.id}`;
      return count.n > runsBefore ? latest : null;
    }, { timeoutMs: 15_000, message: "the recalculation" });
    console.log(
      `  recalculate-schedule (${row.trigger}): moved ${row.moved}, kept ${row.kept}, placed ${row.placed}`,
    );
  };
  const runCount = async () =>
    (await sql`select count(*)::int as n from public.schedule_runs where user_id = ${user.id}`)[0]
      .n as number;
  const firstBlock = async () => {
    const [row] = await sql`select s.title, b.starts_at, b.ends_at from public.session_blocks b
      join public.sessions s on s.id = b.session_id
      where b.user_id = ${user.id} and s.status = 'scheduled' order by b.starts_at limit 1`;
    return row as { title: string; starts_at: Date; ends_at: Date };
  };

  step("Write-back: the plan appears in the user's own Google Calendar");
  await rest(`/scheduling_preferences?user_id=eq.${user.id}`, {
    method: "PATCH",
    jwt: user.jwt,
    body: JSON.stringify({ write_back_enabled: true }),
  }).then((answer) => answer.body?.cancel());
  const planned = await eventually(async () => {
    const [connection] = await sql`select settings ->> 'planned_calendar_id' as calendar
      from public.calendar_connections where id = ${setup.connection.id}`;
    if (!connection?.calendar) return null;
    const [queue] = await sql`select count(*) filter (where status <> 'COMPLETED')::int as waiting,
      count(*)::int as total from public.outbound_queue where user_id = ${user.id}`;
    if (queue.total === 0 || queue.waiting > 0) return null;
    return connection.calendar as string;
  }, { timeoutMs: 20_000, message: "the outbound queue to drain" });
  const written = await emulator<{ items: { summary: string; start: { dateTime: string } }[] }>(
    `/calendars/${encodeURIComponent(planned)}/events`,
  );
  console.log(`  "Planned sessions" calendar at Google (written through the outbound queue):`);
  for (const event of written.items) {
    console.log(`    ${local(event.start.dateTime).padEnd(24)} ${event.summary}`);
  }

  step(
    "Calendly: an invitee books over a session; it steps aside; the cancellation frees the time",
  );
  const calendlyAccount = await createCalendlyAccount(user);
  const calendlySetup = await connectCalendly(user, calendlyAccount);
  console.log(
    `  webhook subscription ${calendlySetup.subscription.uri} (${calendlySetup.subscription.state})`,
  );
  let session = await firstBlock();
  let runs = await runCount();
  const booking = await book(calendlyAccount, session.starts_at, 30, {
    email: "jordan@example.test",
  });
  console.log(`  Jordan books 30 min at ${local(session.starts_at)} (over "${session.title}")`);
  await nextRun(runs);
  await showPlan("Plan after the booking:");
  await calendly("/invitees/cancel", { invitee: booking.invitee.uri, wait: true });
  await eventually(async () => {
    const [row] = await sql`select count(*)::int as n from public.busy_intervals
      where user_id = ${user.id} and source = 'calendly'`;
    return row.n === 0;
  }, { timeoutMs: 10_000, message: "the cancellation" });
  console.log("  Jordan cancels: the meeting is no longer busy time (sessions that fit stay put)");

  step("Notion: a teammate dates a page in the team's database over a session");
  const workspace = await createNotionWorkspace("demo");
  const notionSetup = await connectNotion(user, workspace);
  await subscribeWebhooks(workspace);
  console.log(
    `  following data source ${notionSetup.data_source.id} (date property "${notionSetup.data_source.date_property}"), webhooks verified`,
  );
  session = await firstBlock();
  runs = await runCount();
  const pageAt = performance.now();
  const pageId = await addPage(workspace, "Offsite planning", {
    start: session.starts_at.toISOString(),
    end: session.ends_at.toISOString(),
  });
  await eventually(async () => {
    const [row] = await sql`select 1 from public.calendar_events where external_id = ${pageId}`;
    return row;
  }, { timeoutMs: 10_000, message: "the Notion page in the mirror" });
  console.log(
    `  "Offsite planning" over "${session.title}": Notion → signed webhook → mirror in ${
      Math.round(performance.now() - pageAt)
    } ms`,
  );
  await nextRun(runs);
  await showPlan("Plan after the Notion page:");

  step("The status page: connections, the write-back queue and the week, as the user sees it");
  await showStatusPage(user);

  step("Done");
  console.log("  Every step above went through the gateway, the functions and the database.");
} finally {
  await sql.end();
}
