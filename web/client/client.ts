// The calls a browser makes, on supabase-js with the user's session: the four functions a user
// may call (connect, refresh now, re-plan, disconnect) and the reads behind a status page (the
// user's connections with their calendars' health, Calendly's health, the write-back queue) and
// a week view (busy time from every provider, the planned blocks). RLS keeps every read to the
// user's own rows; the reads also name the user, so a misconfigured policy cannot widen them.
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import {
  fromFunctionError,
  fromPostgrestError,
  notSignedIn,
  type PostgrestErrorLike,
} from "./errors.ts";
import { type AccessTokenSource, type SignedInUser, tokenReader, userOfToken } from "./session.ts";
import { type Watch, watchChanges, type WatchOptions } from "./watch.ts";
import type {
  BusyTime,
  CalendarHealth,
  CalendlyHealth,
  Connection,
  ConnectionWithCalendars,
  ConnectRequest,
  ConnectResult,
  DisconnectResult,
  OutboundQueueStats,
  PlannedSession,
  ProviderName,
  RefreshOptions,
  RefreshReport,
  ReplanOptions,
  ReplanResult,
  Schedule,
  SyncStatus,
  TimeRange,
  UnscheduledReason,
} from "./types.ts";

export interface CalendarSyncClientOptions {
  /**
   * The app's own supabase-js client. Signed in with Supabase Auth, it is all the client needs:
   * every call uses (and refreshes) its session.
   */
  supabase?: SupabaseClient;
  /** Without `supabase`: the project's URL and anon (publishable) key. */
  supabaseUrl?: string;
  anonKey?: string;
  /**
   * The user's access token, or a function returning the current one, when the session does
   * not come from the `supabase` client's own Supabase Auth (a token handed to a page, another
   * auth provider set up as Supabase third-party auth).
   */
  accessToken?: AccessTokenSource;
}

export const FUNCTIONS = {
  connect: "setup-calendar-webhook",
  refresh: "refresh-calendar-webhook",
  replan: "recalculate-schedule",
  disconnect: "disconnect-calendar",
} as const;

const CONNECTION_COLUMNS =
  "id, provider, external_account_id, display_name, status, sync_enabled, settings, " +
  "last_sync_at, last_error, created_at, updated_at";
const HEALTH_COLUMNS =
  "connection_id, provider, calendar_id, connection_status, account, channel_status, " +
  "channel_expires_at, last_notification_at, last_synced_at, last_error, " +
  "consecutive_failures, maintenance_failures, needs_sync";
const CALENDLY_COLUMNS = "email, last_calendly_sync, calendly_initial_sync_complete, " +
  "calendly_webhook_enabled, active_calendly_meetings, webhook_synced_meetings";
const QUEUE_COLUMNS = "pending, processing, completed, failed, held, oldest_pending_age_ms";
const SESSION_COLUMNS = "id, title, status, locked, unscheduled_reason, priority, " +
  "duration_minutes, deadline, session_blocks(block_index, starts_at, ends_at, created_at, " +
  "updated_at)";

const EMPTY_QUEUE: OutboundQueueStats = {
  pending: 0,
  processing: 0,
  completed: 0,
  failed: 0,
  held: 0,
  oldest_pending_age_ms: 0,
};

interface ReadResult<T> {
  data: T | null;
  error: PostgrestErrorLike | null;
  status: number;
}

/** The rows of a PostgREST read, or its failure as a CalendarSyncError. */
async function rows<T>(what: string, query: PromiseLike<ReadResult<unknown>>): Promise<T> {
  const { data, error, status } = await query;
  if (error) throw fromPostgrestError(what, error, status);
  return data as T;
}

/** PostgREST answers at most this many rows a request (the project's `max_rows`). */
const PAGE_ROWS = 1000;

/**
 * Every row of an ordered read, a page at a time: a week of a busy user's calendars can hold
 * more rows than one answer carries, and a cut-off answer would silently drop busy time.
 */
async function allRows<T>(
  what: string,
  page: (from: number, to: number) => PromiseLike<ReadResult<unknown>>,
): Promise<T[]> {
  const all: T[] = [];
  for (let from = 0;; from += PAGE_ROWS) {
    const chunk = await rows<T[]>(what, page(from, from + PAGE_ROWS - 1));
    all.push(...chunk);
    if (chunk.length < PAGE_ROWS) return all;
  }
}

interface SessionRow {
  id: string;
  title: string;
  status: PlannedSession["status"];
  locked: boolean;
  unscheduled_reason: UnscheduledReason | null;
  priority: number;
  duration_minutes: number;
  deadline: string | null;
  session_blocks: {
    block_index: number;
    starts_at: string;
    ends_at: string;
    created_at: string;
    updated_at: string;
  }[];
}

function plannedSession(row: SessionRow): PlannedSession {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    locked: row.locked,
    unscheduled_reason: row.unscheduled_reason,
    priority: row.priority,
    duration_minutes: row.duration_minutes,
    deadline: row.deadline,
    blocks: row.session_blocks
      .map((block) => {
        // A block the planner moved was updated after it was placed (placing sets both).
        const moved = Date.parse(block.updated_at) > Date.parse(block.created_at);
        return {
          session_id: row.id,
          index: block.block_index,
          starts_at: block.starts_at,
          ends_at: block.ends_at,
          moved,
          moved_at: moved ? block.updated_at : null,
        };
      })
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at)),
  };
}

export class CalendarSyncClient {
  /** The supabase-js client every call goes through. */
  readonly supabase: SupabaseClient;
  readonly #readToken: () => Promise<string | null>;

  constructor(options: CalendarSyncClientOptions) {
    if (options.supabase) {
      this.supabase = options.supabase;
    } else {
      if (!options.supabaseUrl || !options.anonKey) {
        throw new TypeError(
          "createCalendarSyncClient needs `supabase`, or `supabaseUrl` and `anonKey`",
        );
      }
      const source = options.accessToken;
      this.supabase = createClient(options.supabaseUrl, options.anonKey, {
        // A host-provided token (or none yet): supabase-js asks for it on every request.
        accessToken: async () => typeof source === "function" ? await source() : source ?? null,
      });
    }
    // A client made here has no Supabase Auth of its own (the accessToken option disables it).
    this.#readToken = tokenReader(options.accessToken, options.supabase);
  }

  /** The signed-in user (from the session's token); a not_signed_in error without one. */
  async user(): Promise<SignedInUser> {
    const token = await this.#readToken();
    return token ? userOfToken(token) : notSignedIn();
  }

  async #invoke<T>(functionName: string, body: Record<string, unknown>): Promise<T> {
    await this.user();
    // supabase-js sends the session's token (and the anon key) with the call.
    const { data, error } = await this.supabase.functions.invoke(functionName, { body });
    if (error) throw await fromFunctionError(functionName, error);
    return data as T;
  }

  /** Connects a provider account for the user (setup-calendar-webhook): stores the grant,
   *  opens the push path and runs the initial sync. Calling it again reuses what exists. */
  connect<R extends ConnectRequest>(request: R): Promise<ConnectResult<R["provider"]>> {
    return this.#invoke(FUNCTIONS.connect, { ...request });
  }

  /** Renews the user's push channels if due and syncs their calendars now. */
  refreshNow(options: RefreshOptions = {}): Promise<RefreshReport> {
    const body: Record<string, unknown> = {};
    if (options.connectionId) body.connection_id = options.connectionId;
    if (options.force) body.force = true;
    return this.#invoke(FUNCTIONS.refresh, body);
  }

  /** Re-plans the user's sessions around their busy time now. */
  replan(options: ReplanOptions = {}): Promise<ReplanResult> {
    return this.#invoke(FUNCTIONS.replan, options.force ? { force: true } : {});
  }

  /** Disconnects one of the user's connections: its mirror goes at once, the provider's grant
   *  is released in the background. Someone else's connection is not_found. */
  disconnect(connectionId: string): Promise<DisconnectResult> {
    return this.#invoke(FUNCTIONS.disconnect, { connection_id: connectionId });
  }

  /** The user's connections with their calendars' health, Calendly's, and the write-back
   *  queue. */
  async status(): Promise<SyncStatus> {
    const user = await this.user();
    const db = this.supabase;
    const [connections, calendars, calendly, queue, preferences] = await Promise.all([
      rows<Connection[]>(
        "the connections",
        db.from("calendar_connections").select(CONNECTION_COLUMNS).eq("user_id", user.id)
          .order("created_at").order("id"),
      ),
      rows<CalendarHealth[]>(
        "the calendars' health",
        db.from("calendar_sync_health").select(HEALTH_COLUMNS).eq("user_id", user.id)
          .order("calendar_id"),
      ),
      rows<CalendlyHealth | null>(
        "Calendly's health",
        db.from("calendly_sync_health").select(CALENDLY_COLUMNS).eq("user_id", user.id)
          .maybeSingle(),
      ),
      rows<OutboundQueueStats | null>(
        "the write-back queue",
        db.from("outbound_queue_stats").select(QUEUE_COLUMNS).eq("user_id", user.id)
          .maybeSingle(),
      ),
      rows<{ time_zone: string } | null>(
        "the scheduling preferences",
        db.from("scheduling_preferences").select("time_zone").eq("user_id", user.id)
          .maybeSingle(),
      ),
    ]);
    return {
      connections: connections.map((connection): ConnectionWithCalendars => ({
        ...connection,
        calendars: calendars.filter((calendar) => calendar.connection_id === connection.id),
      })),
      calendly,
      outbound: queue ?? EMPTY_QUEUE,
      timeZone: preferences?.time_zone ?? "UTC",
    };
  }

  /** Busy time from every provider and the active sessions with their blocks in `range`. */
  async schedule(range: TimeRange): Promise<Schedule> {
    const user = await this.user();
    const db = this.supabase;
    const from = range.from.toISOString();
    const to = range.to.toISOString();
    const [busy, titles, sessions] = await Promise.all([
      allRows<{
        source: ProviderName;
        source_id: string;
        starts_at: string;
        ends_at: string;
        is_tentative: boolean;
      }>(
        "busy time",
        (first, last) =>
          db.from("busy_intervals").select("source, source_id, starts_at, ends_at, is_tentative")
            .eq("user_id", user.id).gt("ends_at", from).lt("starts_at", to).order("starts_at")
            .order("source_id").range(first, last),
      ),
      // Titles only: which items are busy is busy_intervals' decision alone.
      allRows<{ id: string; summary: string | null }>(
        "the events' titles",
        (first, last) =>
          db.from("calendar_events").select("id, summary").eq("user_id", user.id)
            .gt("ends_at", from).lt("starts_at", to).order("id").range(first, last),
      ),
      allRows<SessionRow>(
        "the planned sessions",
        (first, last) =>
          db.from("sessions").select(SESSION_COLUMNS).eq("user_id", user.id)
            .in("status", ["scheduled", "unscheduled"])
            .gt("session_blocks.ends_at", from).lt("session_blocks.starts_at", to)
            .order("priority").order("title").order("id").range(first, last),
      ),
    ]);
    const titleOf = new Map(titles.map((row) => [row.id, row.summary]));
    return {
      from,
      to,
      busy: busy.map((row): BusyTime => ({
        id: row.source_id,
        provider: row.source,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        tentative: row.is_tentative,
        title: titleOf.get(row.source_id) ?? null,
      })),
      sessions: sessions.map(plannedSession),
    };
  }

  /**
   * Calls `onChange` now and whenever the user's data may have changed (polling, and Supabase
   * Realtime when `realtime` is on), until the returned watch is stopped. `onChange` reads what
   * it shows (status(), schedule()); reads never overlap.
   */
  async watch(onChange: () => Promise<void>, options: WatchOptions = {}): Promise<Watch> {
    const user = await this.user();
    return watchChanges(this.supabase, user.id, onChange, options);
  }
}

export function createCalendarSyncClient(options: CalendarSyncClientOptions): CalendarSyncClient {
  return new CalendarSyncClient(options);
}
