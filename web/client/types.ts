// What the client hands the app: the rows of the views users may read (as PostgREST returns
// them: instants are ISO strings) and the answers of the functions. The functions' answers
// come from the functions' own types, so a change there is a type error here.
import type { ConnectGoogleResult } from "../../supabase/functions/_shared/providers/google/connect.ts";
import type { ConnectCalendlyResult } from "../../supabase/functions/_shared/providers/calendly/connect.ts";
import type { ConnectNotionResult } from "../../supabase/functions/_shared/providers/notion/connect.ts";
import type { MaintenanceReport } from "../../supabase/functions/_shared/sync/maintenance.ts";
import type { RunSummary } from "../../supabase/functions/_shared/planning/recalculate.ts";
import type { DisconnectResult } from "../../supabase/functions/_shared/sync/disconnect.ts";
import type { ProviderName } from "../../supabase/functions/_shared/sync/types.ts";
import type { UnscheduledReason } from "../../supabase/functions/_shared/scheduling/types.ts";

export type { ProviderName, UnscheduledReason };
export type { ConnectCalendlyResult, ConnectGoogleResult, ConnectNotionResult };
export type { DisconnectResult };

/** An ISO 8601 instant, as PostgREST and the functions send it. */
export type Instant = string;

// ---------------------------------------------------------------------------------------------
// Connecting (setup-calendar-webhook).

/** An OAuth authorization code for the function to exchange, with the redirect URI it was for. */
export interface AuthorizationCode {
  code: string;
  redirect_uri: string;
}

export type ConnectRequest =
  /** Google: the provider_refresh_token Supabase Auth hands the app, or a code. */
  | ({ provider: "google"; calendar_id?: string } & ({ refresh_token: string } | AuthorizationCode))
  | ({ provider: "calendly" } & ({ refresh_token: string } | AuthorizationCode))
  /** Notion: an internal integration token or a public integration's code, and the database. */
  | (
    & { provider: "notion"; database_id: string; date_property?: string }
    & (
      | { token: string }
      | AuthorizationCode
    )
  );

export type ConnectResult<P extends ProviderName = ProviderName> = {
  google: ConnectGoogleResult;
  calendly: ConnectCalendlyResult;
  notion: ConnectNotionResult;
}[P];

// ---------------------------------------------------------------------------------------------
// Refreshing, re-planning, disconnecting.

/** refresh-calendar-webhook's report for the user's calendars. */
export type RefreshReport = MaintenanceReport;

export interface RefreshOptions {
  /** Only this connection's calendars. */
  connectionId?: string;
  /** Renew push channels even if they are not due (at most once a minute). */
  force?: boolean;
}

/** recalculate-schedule's answer: what the re-plan did, or that a running one will do it. */
export type ReplanResult =
  | (Omit<RunSummary, "input_hash"> & { coalesced?: undefined; follow_ups: number })
  | { coalesced: true };

export interface ReplanOptions {
  /** Re-plan even if nothing the plan depends on changed (at most once a minute). */
  force?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Status.

export type ConnectionStatus = "active" | "needs_reauth" | "revoked";
export type ChannelStatus = "active" | "expiring" | "expired" | "none";

/** A row of calendar_connections (the columns users may read, tokens excluded). */
export interface Connection {
  id: string;
  provider: ProviderName;
  /** Google: the account's email; Calendly: the user URI; Notion: the integration's bot id. */
  external_account_id: string;
  /** What to show: an email, a name or a workspace name. */
  display_name: string | null;
  status: ConnectionStatus;
  sync_enabled: boolean;
  /** Provider-specific, non-secret settings (Google: `planned_calendar_id`, the calendar planned
   *  blocks are written to; Notion: the database, data source and date property). */
  settings: Record<string, unknown>;
  last_sync_at: Instant | null;
  last_error: string | null;
  created_at: Instant;
  updated_at: Instant;
}

/** A row of calendar_sync_health: one watched calendar. */
export interface CalendarHealth {
  connection_id: string;
  provider: ProviderName;
  calendar_id: string;
  connection_status: ConnectionStatus;
  account: string | null;
  channel_status: ChannelStatus;
  channel_expires_at: Instant | null;
  last_notification_at: Instant | null;
  last_synced_at: Instant | null;
  last_error: string | null;
  consecutive_failures: number;
  maintenance_failures: number;
  needs_sync: boolean;
}

/** The user's row of calendly_sync_health. */
export interface CalendlyHealth {
  email: string | null;
  last_calendly_sync: Instant | null;
  calendly_initial_sync_complete: boolean | null;
  calendly_webhook_enabled: boolean | null;
  active_calendly_meetings: number;
  webhook_synced_meetings: number;
}

/** The user's row of outbound_queue_stats: planned blocks waiting to be written back. */
export interface OutboundQueueStats {
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  held: number;
  oldest_pending_age_ms: number;
}

export interface ConnectionWithCalendars extends Connection {
  calendars: CalendarHealth[];
}

export interface SyncStatus {
  /** Oldest first; revoked connections included (they show as disconnected). */
  connections: ConnectionWithCalendars[];
  /** Null when the user has no Calendly connection. */
  calendly: CalendlyHealth | null;
  outbound: OutboundQueueStats;
  /** The user's planning time zone (scheduling_preferences; "UTC" when they set none). */
  timeZone: string;
}

// ---------------------------------------------------------------------------------------------
// The week: busy time and planned blocks.

export interface BusyTime {
  /** The mirrored item's id (calendar_events.id). */
  id: string;
  provider: ProviderName;
  starts_at: Instant;
  ends_at: Instant;
  tentative: boolean;
  /** The item's title, when the provider sent one. */
  title: string | null;
}

export interface PlannedBlock {
  session_id: string;
  index: number;
  starts_at: Instant;
  ends_at: Instant;
  /** The planner moved it since it was first placed (then `moved_at` says when). */
  moved: boolean;
  moved_at: Instant | null;
}

export type SessionStatus = "scheduled" | "unscheduled";

export interface PlannedSession {
  id: string;
  title: string;
  status: SessionStatus;
  /** The user placed or edited it: the planner never moves it. */
  locked: boolean;
  /** Why the last re-plan could not place it. */
  unscheduled_reason: UnscheduledReason | null;
  priority: number;
  duration_minutes: number;
  deadline: Instant | null;
  /** Its blocks that overlap the range asked for. */
  blocks: PlannedBlock[];
}

export interface TimeRange {
  from: Date;
  to: Date;
}

export interface Schedule {
  from: Instant;
  to: Instant;
  /** Busy time from every provider overlapping the range, by start. */
  busy: BusyTime[];
  /** The active (scheduled or unscheduled) sessions, by priority. */
  sessions: PlannedSession[];
}
