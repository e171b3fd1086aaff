// What the status page says, in words: each state with an icon and a tone (the tone is the
// colour, never the only sign), what to do about it, errors as sentences, times as "5 min ago".
// Pure: no DOM, no clock of its own (callers pass `now`).
import type { ProviderErrorKind } from "../../supabase/functions/_shared/net/provider_error.ts";
import type {
  CalendarSyncError,
  ChannelStatus,
  Connection,
  ConnectionStatus,
  DisconnectResult,
  OutboundQueueStats,
  ProviderName,
  RefreshReport,
  ReplanResult,
  UnscheduledReason,
} from "../client/mod.ts";

export type Tone = "ok" | "warn" | "bad" | "off";

export interface Badge {
  /** The state in words (always shown). */
  words: string;
  /** A symbol beside the words (decorative: the words carry the meaning). */
  icon: string;
  tone: Tone;
  /** What the user can do about it, when anything. */
  advice: string | null;
}

export const PROVIDER_NAMES: Record<ProviderName, string> = {
  google: "Google Calendar",
  calendly: "Calendly",
  notion: "Notion",
};

export function connectionBadge(
  provider: ProviderName,
  status: ConnectionStatus,
  syncEnabled = true,
): Badge {
  const name = PROVIDER_NAMES[provider];
  switch (status) {
    case "active":
      return syncEnabled ? { words: "Active", icon: "✓", tone: "ok", advice: null } : {
        words: "Paused",
        icon: "❚❚",
        tone: "off",
        advice: "Syncing is paused for this account: resume it in the app's settings.",
      };
    case "needs_reauth":
      return {
        words: "Needs re-auth",
        icon: "⚠",
        tone: "warn",
        advice: `${name} no longer accepts this connection. Connect ${name} again from the app ` +
          "(sign in and allow calendar access); nothing syncs until then.",
      };
    case "revoked":
      return {
        words: "Revoked",
        icon: "✕",
        tone: "off",
        advice: "This account was disconnected: nothing is synced. Connect it again to resume.",
      };
  }
}

/** What the push path of a calendar is called at each provider. */
export function channelName(provider: ProviderName): string {
  return { google: "Push channel", calendly: "Subscription", notion: "Webhook" }[provider];
}

export function channelBadge(
  provider: ProviderName,
  status: ChannelStatus,
  expiresAt: string | null,
  now: number,
): Badge {
  const expiry = expiresAt ? relativeTime(expiresAt, now) : null;
  switch (status) {
    case "active":
      return {
        words: "Active",
        icon: "●",
        tone: "ok",
        advice: expiry ? `Renewed automatically before it expires (${expiry}).` : null,
      };
    case "expiring":
      return {
        words: "Expiring",
        icon: "◐",
        tone: "warn",
        advice: `Expires ${expiry ?? "soon"}; renewal is due and runs automatically.`,
      };
    case "expired":
      return {
        words: "Expired",
        icon: "○",
        tone: "bad",
        advice: "Changes are not pushed right now; the next maintenance run (or Refresh now) " +
          "opens a new one.",
      };
    case "none":
      return {
        words: "None",
        icon: "–",
        tone: "off",
        advice: provider === "notion"
          ? "Changes are picked up by polling every few minutes."
          : "Changes are picked up by periodic syncs until a channel is open.",
      };
  }
}

const ERROR_SENTENCES: Record<ProviderErrorKind, (name: string, reason: string | null) => string> =
  {
    unauthorized: (name) => `${name} refused the access token; a new one is fetched next time.`,
    reauth_required: (name) =>
      `${name} no longer accepts this connection's authorisation: connect it again.`,
    config: (name) =>
      `${name} rejected this app's OAuth client: the app's operator must fix its settings.`,
    rate_limited: (name) =>
      `${name} is limiting requests right now; the sync is retried automatically.`,
    server: (name) => `${name} had a temporary problem; the sync is retried automatically.`,
    network: (name) => `${name} could not be reached; the sync is retried automatically.`,
    full_sync_required: (name) => `${name} asked for a full re-sync; it runs automatically.`,
    gone: (name) => `The item was already deleted at ${name}.`,
    not_found: (name) =>
      `${name} says this calendar does not exist any more, or the account cannot see it.`,
    precondition_failed: (name) =>
      `An item changed at ${name} while it was being written; it is retried.`,
    permanent: (name, reason) => `${name} refused the request${reason ? ` (${reason})` : ""}.`,
  };

/**
 * A stored sync error (`kind (reason): message`, as the functions record it) as a sentence for
 * the user; anything else is shown as it is.
 */
export function plainError(provider: ProviderName, lastError: string): string {
  const match = /^([a-z_]+)(?: \(([^)]*)\))?: /.exec(lastError);
  const sentence = match && Object.hasOwn(ERROR_SENTENCES, match[1])
    ? ERROR_SENTENCES[match[1] as ProviderErrorKind]
    : null;
  return sentence
    ? sentence(PROVIDER_NAMES[provider], match![2] ?? null)
    : `The last sync failed: ${lastError}`;
}

const UNSCHEDULED_WORDS: Record<UnscheduledReason, string> = {
  invalid_session: "its settings are invalid",
  block_limits_unsatisfiable: "its block limits cannot be met",
  locked_without_blocks: "it is locked but has no blocks",
  deadline_passed: "its deadline has passed",
  earliest_start_after_deadline: "its earliest start is after its deadline",
  beyond_horizon: "its earliest start is beyond the planning horizon",
  no_working_hours: "no working hours are set",
  no_free_time_before_deadline: "there is no free time before its deadline",
  no_free_time_in_horizon: "there is no free time in the planning horizon",
};

export function unscheduledWords(reason: UnscheduledReason | null): string {
  return reason ? UNSCHEDULED_WORDS[reason] ?? reason : "it has not been planned yet";
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
];
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "long" });

/** "just now", "5 minutes ago", "in 3 hours", "yesterday". */
export function relativeTime(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  if (Math.abs(delta) < 45_000) return delta <= 0 ? "just now" : "in a few seconds";
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return relative.format(Math.round(delta / size), unit);
  }
  return relative.format(Math.round(delta / 60_000), "minute");
}

/** The full local date and time, for a tooltip beside a relative time. */
export function exactTime(iso: string, timeZone?: string): string {
  return new Date(iso).toLocaleString("en-US", {
    timeZone,
    dateStyle: "medium",
    timeStyle: "medium",
  });
}

const plural = (count: number, one: string, many = `${one}s`) =>
  `${count} ${count === 1 ? one : many}`;

export function queueSummary(queue: OutboundQueueStats, now: number): Badge {
  const waiting = queue.pending + queue.processing;
  if (queue.failed + queue.held > 0) {
    const parts = [
      queue.failed ? `${plural(queue.failed, "write")} failed` : null,
      queue.held ? `${plural(queue.held, "write")} held for a conflict` : null,
      waiting ? `${waiting} waiting` : null,
    ].filter(Boolean);
    return {
      words: parts.join(", "),
      icon: "⚠",
      tone: "bad",
      advice: "Some planned blocks could not be written to your calendar.",
    };
  }
  if (waiting > 0) {
    const since = relativeTime(new Date(now - queue.oldest_pending_age_ms).toISOString(), now);
    return {
      words: `${plural(waiting, "write")} waiting (oldest ${since})`,
      icon: "…",
      tone: "warn",
      advice: null,
    };
  }
  return {
    words: queue.completed
      ? `Nothing waiting (${plural(queue.completed, "write")} done)`
      : "Nothing waiting",
    icon: "✓",
    tone: "ok",
    advice: null,
  };
}

export function refreshOutcome(report: RefreshReport): string {
  const parts = [
    `${plural(report.synced, "calendar")} synced`,
    report.renewed ? `${plural(report.renewed, "channel")} renewed` : null,
    report.busy ? `${report.busy} already syncing` : null,
    report.needs_reauth ? `${report.needs_reauth} need re-auth` : null,
    report.failed.length ? `${report.failed.length} failed` : null,
  ].filter(Boolean);
  return `Refreshed ${plural(report.calendars, "calendar")}: ${parts.join(", ")}.`;
}

export function replanOutcome(result: ReplanResult): string {
  if (result.coalesced) return "A re-plan is already running; it includes this request.";
  if (result.unchanged) return "Nothing changed since the last plan: it stays as it is.";
  const parts = [`moved ${result.moved}`, `kept ${result.kept}`, `placed ${result.placed}`];
  if (result.unscheduled.length) parts.push(`${result.unscheduled.length} not scheduled`);
  return `Re-planned: ${parts.join(", ")}.`;
}

/** What the person confirms before a connection goes (nothing here can be undone but by
 *  connecting again). */
export function disconnectQuestion(connection: Connection): string {
  const account = connection.display_name ?? connection.external_account_id;
  return `Disconnect ${PROVIDER_NAMES[connection.provider]} (${account})? Its calendars stop ` +
    "syncing and leave the plan, anything this app wrote there is removed, and its access is revoked.";
}

export function disconnectOutcome(result: DisconnectResult): string {
  return `Disconnected ${PROVIDER_NAMES[result.provider]}: ` +
    `${plural(result.calendars_removed, "calendar")} no longer synced; anything this app wrote ` +
    "there is being removed and its access revoked.";
}

/** A failed action or read, as a sentence with what to do. */
export function failureWords(error: CalendarSyncError): string {
  switch (error.kind) {
    case "not_signed_in":
      return "You are not signed in, or your session expired: sign in again.";
    case "rate_limited":
      // The server's message usually says when; say it when only Retry-After does.
      return error.retryAfterSeconds && !/try again in/i.test(error.message)
        ? `${error.message} Try again in ${plural(error.retryAfterSeconds, "second")}.`
        : error.message;
    case "unavailable":
      return `${error.message} The page keeps trying.`;
    default:
      return error.message;
  }
}

/** How a watched calendar is called on its connection's card. */
export function calendarLabel(connection: Connection, calendarId: string): string {
  switch (connection.provider) {
    case "google":
      if (calendarId === connection.external_account_id || calendarId === "primary") {
        return "Primary calendar";
      }
      return calendarId === connection.settings.planned_calendar_id
        ? "Planned sessions calendar (written by this app)"
        : `Calendar ${calendarId}`;
    case "calendly":
      return "Scheduled meetings";
    case "notion":
      return "Database";
  }
}
