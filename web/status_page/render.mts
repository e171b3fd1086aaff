/// <reference lib="dom" />
// The status page's DOM: connection cards, the write-back line, the week and the sessions that
// could not be placed, built from what present.ts and week.ts computed. Every state is written
// in words (the colour comes from a tone class and repeats them); times are <time> elements
// with the exact instant in `datetime` and a relative one as text.
import type {
  CalendarHealth,
  CalendlyHealth,
  ConnectionWithCalendars,
  PlannedSession,
  SyncStatus,
} from "../client/mod.ts";
import {
  type Badge,
  calendarLabel,
  channelBadge,
  channelName,
  connectionBadge,
  exactTime,
  plainError,
  PROVIDER_NAMES,
  queueSummary,
  relativeTime,
  unscheduledWords,
} from "./present.ts";
import type { WeekItem, WeekLayout } from "./week.ts";

type Attributes = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** An element with attributes (false/null/undefined ones left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

function badge(value: Badge, extraClass = ""): HTMLElement {
  return h(
    "span",
    { class: `badge tone-${value.tone} ${extraClass}`.trim() },
    h("span", { class: "icon", "aria-hidden": "true" }, value.icon),
    " ",
    h("span", { class: "words" }, value.words),
  );
}

function when(iso: string | null, now: number, never = "never"): Child {
  if (!iso) return h("span", { class: "muted" }, never);
  return h("time", { datetime: iso, title: exactTime(iso) }, relativeTime(iso, now));
}

function facts(...pairs: [string, Child | Child[]][]): HTMLElement {
  const list = h("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    list.append(h("dt", {}, term), h("dd", {}, ...(Array.isArray(value) ? value : [value])));
  }
  return list;
}

function errorText(provider: ConnectionWithCalendars["provider"], lastError: string | null) {
  if (!lastError) return h("span", { class: "muted" }, "none");
  return h(
    "span",
    { class: "error-text" },
    plainError(provider, lastError),
    " ",
    h("details", {}, h("summary", {}, "Details"), h("code", {}, lastError)),
  );
}

function calendarItem(
  connection: ConnectionWithCalendars,
  calendar: CalendarHealth,
  now: number,
): HTMLElement {
  const channel = channelBadge(
    connection.provider,
    calendar.channel_status,
    calendar.channel_expires_at,
    now,
  );
  return h(
    "li",
    { class: "calendar", "data-calendar-id": calendar.calendar_id },
    h(
      "h4",
      {},
      calendarLabel(connection, calendar.calendar_id),
    ),
    facts(
      [channelName(connection.provider), [
        badge(channel, "channel"),
        channel.advice && h("span", { class: "advice" }, ` ${channel.advice}`),
      ]],
      ["Last notification", when(calendar.last_notification_at, now, "none yet")],
      ["Last sync", when(calendar.last_synced_at, now)],
      ["Last error", errorText(connection.provider, calendar.last_error)],
    ),
  );
}

function calendlyFacts(calendly: CalendlyHealth | null): HTMLElement | null {
  if (!calendly) return null;
  const webhook: Badge = calendly.calendly_webhook_enabled
    ? { words: "Receiving bookings", icon: "●", tone: "ok", advice: null }
    : {
      words: "Not subscribed",
      icon: "○",
      tone: "bad",
      advice: "Bookings arrive only through periodic syncs until the webhook is back.",
    };
  return facts(
    ["Webhook", [
      badge(webhook, "webhook"),
      webhook.advice && h("span", { class: "advice" }, ` ${webhook.advice}`),
    ]],
    [
      "Meetings",
      `${calendly.active_calendly_meetings} active, ${calendly.webhook_synced_meetings} ` +
      "arrived by webhook",
    ],
  );
}

/** Builds a connection's Disconnect button (null: nothing to disconnect). */
export type DisconnectControl = (connection: ConnectionWithCalendars) => HTMLElement | null;

function connectionCard(
  connection: ConnectionWithCalendars,
  calendly: CalendlyHealth | null,
  now: number,
  disconnect?: DisconnectControl,
): HTMLElement {
  const disconnectButton = disconnect?.(connection);
  const status = connectionBadge(connection.provider, connection.status, connection.sync_enabled);
  const headingId = `connection-${connection.id}`;
  const provider = PROVIDER_NAMES[connection.provider];
  return h(
    "li",
    {},
    h(
      "article",
      {
        class: `card tone-${status.tone}`,
        "aria-labelledby": headingId,
        "data-connection-id": connection.id,
        "data-provider": connection.provider,
        "data-status": connection.status,
      },
      h(
        "header",
        {},
        h(
          "h3",
          { id: headingId },
          provider,
          h(
            "span",
            { class: "account" },
            connection.display_name ?? connection.external_account_id,
          ),
        ),
        badge(status, "status"),
      ),
      status.advice && h("p", { class: "advice" }, status.advice),
      facts(["Last sync", when(connection.last_sync_at, now)]),
      connection.status === "active" && connection.provider === "calendly" &&
        calendlyFacts(calendly),
      connection.calendars.length > 0 &&
        h(
          "ul",
          { class: "calendars", "aria-label": `${provider} calendars` },
          ...connection.calendars.map((calendar) => calendarItem(connection, calendar, now)),
        ),
      disconnectButton && h("div", { class: "card-actions" }, disconnectButton),
    ),
  );
}

export function renderConnections(
  status: SyncStatus,
  now: number,
  disconnect?: DisconnectControl,
): HTMLElement {
  if (status.connections.length === 0) {
    return h(
      "p",
      { class: "muted" },
      "No calendar is connected yet. Connect Google Calendar, Calendly or Notion from the app.",
    );
  }
  return h(
    "ul",
    { class: "cards" },
    ...status.connections.map((connection) =>
      connectionCard(connection, status.calendly, now, disconnect)
    ),
  );
}

export function renderQueue(status: SyncStatus, now: number): HTMLElement {
  const summary = queueSummary(status.outbound, now);
  return h(
    "p",
    { class: "queue" },
    badge(summary, "queue"),
    summary.advice && h("span", { class: "advice" }, ` ${summary.advice}`),
  );
}

function itemText(item: WeekItem): Child[] {
  const time = h("span", { class: "item-time" }, `${item.startLabel}–${item.endLabel}`);
  if (item.kind === "busy") {
    return [
      time,
      " ",
      h("span", { class: "item-title" }, item.title ?? "Busy"),
      " ",
      h(
        "span",
        { class: "item-source" },
        `${item.tentative ? "Tentative" : "Busy"} · ${PROVIDER_NAMES[item.provider]}`,
      ),
    ];
  }
  return [
    time,
    " ",
    h("span", { class: "item-title" }, item.title),
    " ",
    h(
      "span",
      { class: "item-source" },
      "Planned",
      item.locked &&
        h(
          "span",
          { class: "mark locked" },
          " · ",
          h("span", { "aria-hidden": "true" }, "🔒"),
          " Locked",
        ),
      item.moved &&
        h(
          "span",
          { class: "mark moved" },
          " · ",
          h("span", { "aria-hidden": "true" }, "↻"),
          " Moved",
        ),
    ),
  ];
}

function weekItem(item: WeekItem): HTMLElement {
  const classes = item.kind === "busy"
    ? ["item", "busy", `provider-${item.provider}`, item.tentative && "tentative"]
    : ["item", "block", item.locked && "locked", item.moved && "moved"];
  const width = 100 / item.lanes;
  return h(
    "li",
    {
      class: classes.filter(Boolean).join(" "),
      "data-kind": item.kind,
      "data-starts-at": item.startsAt,
      "data-ends-at": item.endsAt,
      "data-session-id": item.kind === "block" ? item.sessionId : null,
      "data-provider": item.kind === "busy" ? item.provider : null,
      style: `top:${item.top.toFixed(3)}%;height:${item.height.toFixed(3)}%;` +
        `left:${(item.lane * width).toFixed(3)}%;width:${width.toFixed(3)}%`,
    },
    ...itemText(item),
  );
}

export function renderWeek(layout: WeekLayout): HTMLElement {
  const hours = layout.lastHour - layout.firstHour;
  const hourLabels = h("div", { class: "hours", "aria-hidden": "true" });
  for (let hour = layout.firstHour; hour < layout.lastHour; hour++) {
    hourLabels.append(
      h(
        "span",
        { style: `top:${(((hour - layout.firstHour) / hours) * 100).toFixed(3)}%` },
        `${String(hour).padStart(2, "0")}:00`,
      ),
    );
  }
  return h(
    "div",
    { class: "week", style: `--hours:${hours}` },
    hourLabels,
    ...layout.days.map((day) => {
      const headingId = `day-${day.date}`;
      return h(
        "section",
        { class: `day${day.today ? " today" : ""}`, "aria-labelledby": headingId },
        h(
          "h3",
          { id: headingId },
          day.label,
          day.today && h("span", { class: "today-mark" }, " (today)"),
        ),
        day.items.length
          ? h("ol", { class: "day-items" }, ...day.items.map(weekItem))
          : h("p", { class: "visually-hidden" }, "Nothing busy or planned."),
      );
    }),
  );
}

export function renderUnscheduled(sessions: PlannedSession[]): HTMLElement {
  const unscheduled = sessions.filter((session) => session.status === "unscheduled");
  if (unscheduled.length === 0) {
    return h("p", { class: "muted" }, "Every active session has a place in the plan.");
  }
  return h(
    "ul",
    { class: "unscheduled" },
    ...unscheduled.map((session) =>
      h(
        "li",
        { "data-session-id": session.id },
        h("span", { class: "icon", "aria-hidden": "true" }, "⚠ "),
        h("strong", {}, session.title),
        ` is not scheduled: ${unscheduledWords(session.unscheduled_reason)}.`,
        session.locked && " (locked)",
      )
    ),
  );
}
