/// <reference lib="dom" />
// The status page: who is signed in, one card per connection (each with a Disconnect button),
// the write-back queue, the week and the "Refresh now" / "Re-plan" buttons, kept current by the
// client's watch (polling, and Realtime where the project offers it). Bundled to
// web/dist/status-page.js; web/status/index.html mounts it, and an app can mount it into its own
// page with its own session.
import {
  type CalendarSyncClient,
  createCalendarSyncClient,
  isCalendarSyncError,
  type Schedule,
  type SignedInUser,
  type SyncStatus,
  type Watch,
} from "../client/mod.ts";
import { resolveConfig, type StatusPageConfig, URL_PARAMETERS } from "./config.ts";
import {
  disconnectOutcome,
  disconnectQuestion,
  failureWords,
  PROVIDER_NAMES,
  refreshOutcome,
  replanOutcome,
} from "./present.ts";
import {
  type DisconnectControl,
  h,
  renderConnections,
  renderQueue,
  renderUnscheduled,
  renderWeek,
} from "./render.mts";
import { layoutWeek, weekWindow } from "./week.ts";

export { resolveConfig, type StatusPageConfig };

export interface StatusPage {
  /** Read everything again now. */
  refresh(): void;
  /** Stop reading (polling and Realtime). */
  stop(): Promise<void>;
}

function describe(error: unknown): string {
  if (isCalendarSyncError(error)) return failureWords(error);
  return error instanceof Error ? error.message : String(error);
}

/** What each region shows now, so it is rebuilt only when that changed (keeps the page calm). */
const shown = new WeakMap<HTMLElement, string>();

function show(region: HTMLElement, key: string, build: () => Node) {
  if (shown.get(region) === key) return;
  shown.set(region, key);
  region.replaceChildren(build());
}

function notConfigured(root: HTMLElement, missing: string[]) {
  root.replaceChildren(
    h("h1", {}, "Calendar sync"),
    h(
      "p",
      { role: "alert" },
      `This page does not know which Supabase project to use (missing: ${missing.join(", ")}).`,
    ),
    h(
      "p",
      {},
      "Open it with the project in the address, e.g. ",
      h(
        "code",
        {},
        `#${URL_PARAMETERS.supabaseUrl}=https://<ref>.supabase.co&${URL_PARAMETERS.anonKey}=<anon key>` +
          `&${URL_PARAMETERS.accessToken}=<the user's access token>`,
      ),
      ", or set window.CALENDAR_SYNC_CONFIG before the page's script.",
    ),
  );
}

function notSignedIn(root: HTMLElement, error: unknown) {
  root.replaceChildren(
    h("h1", {}, "Calendar sync"),
    h("p", { role: "alert", class: "tone-warn" }, describe(error)),
    h(
      "p",
      {},
      "Open this page from the app while signed in (it hands over your session), or add ",
      h("code", {}, `${URL_PARAMETERS.accessToken}=…`),
      " to the address's fragment.",
    ),
  );
}

/** A button that shows its progress and outcome; a click while it runs does nothing. */
function actionButton(
  label: string,
  busyLabel: string,
  outcome: HTMLElement,
  run: () => Promise<string>,
  after: () => void,
): HTMLButtonElement {
  const button = h("button", { type: "button", class: "action" }, label);
  button.addEventListener("click", async () => {
    if (button.getAttribute("aria-disabled") === "true") return;
    // aria-disabled rather than disabled: the button keeps keyboard focus while it works.
    button.setAttribute("aria-disabled", "true");
    button.setAttribute("aria-busy", "true");
    button.textContent = busyLabel;
    outcome.className = "outcome tone-busy";
    outcome.textContent = busyLabel;
    try {
      const text = await run();
      outcome.className = "outcome tone-ok";
      outcome.textContent = text;
    } catch (error) {
      outcome.className = "outcome tone-bad";
      outcome.textContent = `${label} failed: ${describe(error)}`;
    } finally {
      button.removeAttribute("aria-disabled");
      button.removeAttribute("aria-busy");
      button.textContent = label;
      after();
    }
  });
  return button;
}

interface Regions {
  connections: HTMLElement;
  queue: HTMLElement;
  weekLabel: HTMLElement;
  week: HTMLElement;
  unscheduled: HTMLElement;
  freshness: HTMLElement;
  problem: HTMLElement;
  /** Each card's Disconnect button, reporting in the page's outcome line. */
  disconnectButton: DisconnectControl;
}

function layout(
  root: HTMLElement,
  user: SignedInUser,
  client: CalendarSyncClient,
  controls: { refresh: () => void; moveWeek: (weeks: number | null) => void },
): Regions {
  const outcome = h("p", { class: "outcome", role: "status", "aria-live": "polite" });
  const refreshButton = actionButton(
    "Refresh now",
    "Refreshing…",
    outcome,
    async () => refreshOutcome(await client.refreshNow()),
    controls.refresh,
  );
  const replanButton = actionButton(
    "Re-plan",
    "Re-planning…",
    outcome,
    async () => replanOutcome(await client.replan()),
    controls.refresh,
  );
  const regions: Regions = {
    connections: h("div", { class: "region" }),
    queue: h("div", { class: "region" }),
    weekLabel: h("span", { class: "week-label" }),
    week: h("div", { class: "region" }),
    unscheduled: h("div", { class: "region" }),
    freshness: h("p", { class: "freshness muted" }, "Loading…"),
    problem: h("p", { class: "problem tone-bad", hidden: true }),
    disconnectButton: (connection) => {
      if (connection.status === "revoked") return null;
      const button = actionButton(
        "Disconnect",
        "Disconnecting…",
        outcome,
        async () => {
          // The browser's own dialog: modal, keyboard-ready and read by screen readers.
          if (!globalThis.confirm(disconnectQuestion(connection))) {
            return "Nothing changed: the connection stays.";
          }
          return disconnectOutcome(await client.disconnect(connection.id));
        },
        controls.refresh,
      );
      const account = connection.display_name ?? connection.external_account_id;
      button.setAttribute(
        "aria-label",
        `Disconnect ${PROVIDER_NAMES[connection.provider]} (${account})`,
      );
      return button;
    },
  };
  const weekButton = (label: string, weeks: number | null) => {
    const button = h("button", { type: "button", class: "nav" }, label);
    button.addEventListener("click", () => controls.moveWeek(weeks));
    return button;
  };
  root.replaceChildren(
    h(
      "header",
      { class: "page-header" },
      h("h1", {}, "Calendar sync"),
      h("p", { class: "who" }, "Signed in as ", h("strong", {}, user.email ?? user.id)),
      h(
        "div",
        { class: "actions", role: "group", "aria-label": "Actions" },
        refreshButton,
        replanButton,
      ),
      outcome,
      regions.problem,
      regions.freshness,
    ),
    h(
      "section",
      { "aria-labelledby": "connections-heading" },
      h("h2", { id: "connections-heading" }, "Connections"),
      regions.connections,
    ),
    h(
      "section",
      { "aria-labelledby": "queue-heading" },
      h("h2", { id: "queue-heading" }, "Write-back to your calendar"),
      regions.queue,
    ),
    h(
      "section",
      { "aria-labelledby": "week-heading", class: "week-section" },
      h("h2", { id: "week-heading" }, "Week: busy time and planned sessions"),
      h(
        "div",
        { class: "week-nav", role: "group", "aria-label": "Week" },
        weekButton("← Previous week", -1),
        weekButton("This week", null),
        weekButton("Next week →", 1),
        regions.weekLabel,
      ),
      regions.week,
      h("h3", { id: "unscheduled-heading" }, "Not scheduled"),
      regions.unscheduled,
    ),
  );
  return regions;
}

/**
 * Mounts the status page into `root`. `given` is the host's config (see StatusPageConfig);
 * what it leaves out is read from the page's address (fragment, then query).
 */
export async function mountStatusPage(
  root: HTMLElement,
  given: Partial<StatusPageConfig> = {},
): Promise<StatusPage> {
  const idle: StatusPage = { refresh() {}, stop: () => Promise.resolve() };
  const resolved = resolveConfig(globalThis.location ?? { hash: "", search: "" }, given);
  if (!resolved.ok) {
    notConfigured(root, resolved.missing);
    return idle;
  }
  const config = resolved.config;
  const client = createCalendarSyncClient(config);
  let user: SignedInUser;
  try {
    user = await client.user();
  } catch (error) {
    notSignedIn(root, error);
    return idle;
  }

  let weekOffset = 0;
  let watch: Watch | null = null;
  const regions = layout(root, user, client, {
    refresh: () => watch?.refresh(),
    moveWeek: (weeks) => {
      weekOffset = weeks === null ? 0 : weekOffset + weeks;
      watch?.refresh();
    },
  });

  const draw = (status: SyncStatus, schedule: Schedule, now: number) => {
    const window = weekWindow(status.timeZone, now, weekOffset);
    const week = layoutWeek(schedule, window, status.timeZone, now);
    // Relative times change with the clock: key on the minute so they stay current.
    const minute = Math.floor(now / 60_000);
    show(
      regions.connections,
      JSON.stringify([status.connections, status.calendly, minute]),
      () => renderConnections(status, now, regions.disconnectButton),
    );
    show(regions.queue, JSON.stringify([status.outbound, minute]), () => renderQueue(status, now));
    regions.weekLabel.textContent = `${week.label} · times in ${week.timeZone}`;
    show(regions.week, JSON.stringify(week), () => renderWeek(week));
    show(
      regions.unscheduled,
      JSON.stringify(schedule.sessions),
      () => renderUnscheduled(schedule.sessions),
    );
    regions.freshness.replaceChildren(
      "Updated ",
      h(
        "time",
        { datetime: new Date(now).toISOString() },
        new Date(now).toLocaleTimeString("en-US"),
      ),
    );
  };

  const read = async () => {
    try {
      const status = await client.status();
      const now = Date.now();
      const window = weekWindow(status.timeZone, now, weekOffset);
      const schedule = await client.schedule(window);
      draw(status, schedule, now);
      regions.problem.hidden = true;
      root.removeAttribute("aria-busy");
    } catch (error) {
      regions.problem.hidden = false;
      regions.problem.textContent = `Could not load the latest state: ${describe(error)}`;
    }
  };

  watch = await client.watch(read, { pollMs: config.pollMs, realtime: config.realtime });
  return { refresh: () => watch?.refresh(), stop: () => watch!.stop() };
}
