// The Google sync of one calendar, following Google's sync-token protocol: claim the calendar
// (one sync at a time), page events.list from the stored sync token (or a full sync), store each
// page idempotently, and move the token only with the last page. A 410 fullSyncRequired restarts
// as a full sync whose leftovers are removed at the end. A notification that arrived during the
// run leaves the calendar marked, and exactly one follow-up run picks it up.
// Pure of I/O details: the store, the Google lister and the clock are injected.
import {
  type EventLister,
  GoogleApiError,
  pageEventSync,
  ReauthRequiredError,
} from "../google/mod.ts";
import type { GoogleSyncStore, SyncClaim, SyncTarget } from "./google_store.ts";
import { toMirrorPage } from "./google_event_rows.ts";

export interface GoogleSyncDependencies {
  store: GoogleSyncStore;
  lister: EventLister;
  now: () => number;
  /** How far back a full sync reads (days before now, on event end). */
  pastDays: number;
  /** How long a claim holds before another run may take the calendar over. */
  leaseSeconds?: number;
}

export interface GoogleSyncSummary {
  /** Claims taken: 0 when another run holds the calendar or nothing was marked. */
  runs: number;
  fullSync: boolean;
  pages: number;
  upserted: number;
  deleted: number;
  busyChanged: boolean;
}

const DEFAULT_LEASE_SECONDS = 300;

function describe(error: unknown): string {
  if (error instanceof GoogleApiError) {
    return `${error.kind}${error.reason ? ` (${error.reason})` : ""}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

async function pageIntoMirror(
  deps: GoogleSyncDependencies,
  target: SyncTarget,
  summary: GoogleSyncSummary,
  start: { syncToken: string | null; generation: number; timeZone: string | null },
): Promise<void> {
  const isFullSync = start.syncToken === null;
  summary.fullSync ||= isFullSync;
  const timeMin = isFullSync
    ? new Date(deps.now() - deps.pastDays * 86_400_000).toISOString()
    : undefined;
  let timeZone = start.timeZone;
  for await (
    const page of pageEventSync(deps.lister, {
      calendarId: target.calendarId,
      syncToken: start.syncToken,
      timeMin,
    })
  ) {
    summary.pages++;
    timeZone = page.timeZone ?? timeZone;
    const isLastPage = page.nextSyncToken !== undefined;
    // Google may send empty pages mid-sequence; only the last one carries something to store.
    if (page.items.length === 0 && !isLastPage) continue;
    const mirror = toMirrorPage(page.items, timeZone ?? "UTC");
    const stored = await deps.store.storePage({
      ...target,
      generation: start.generation,
      events: mirror.events,
      cancelledIds: mirror.cancelledIds,
      isFullSync,
      nextSyncToken: page.nextSyncToken ?? null,
      timeZone,
    });
    // A newer full sync owns the calendar now (our lease ran out): stop without writing more.
    if (stored.stale) return;
    summary.upserted += stored.upserted;
    summary.deleted += stored.deleted;
    summary.busyChanged ||= stored.busyChanged;
  }
}

async function syncClaimed(
  deps: GoogleSyncDependencies,
  target: SyncTarget,
  claim: SyncClaim,
  summary: GoogleSyncSummary,
): Promise<void> {
  try {
    await pageIntoMirror(deps, target, summary, claim);
  } catch (error) {
    if (!(error instanceof GoogleApiError) || error.kind !== "full_sync_required") throw error;
    // Never swallow a 410: start a new generation and read everything again.
    const generation = await deps.store.restartFullSync(target);
    await pageIntoMirror(deps, target, summary, {
      syncToken: null,
      generation,
      timeZone: claim.timeZone,
    });
  }
}

/**
 * Runs the calendar's sync if it is marked and free, then follow-ups while notifications keep
 * arriving. Throws the first failure after releasing the claim (the calendar stays marked, so the
 * next notification or the backup cron converges); `invalid_grant` also flags the connection.
 */
export async function syncGoogleCalendar(
  deps: GoogleSyncDependencies,
  target: SyncTarget,
): Promise<GoogleSyncSummary> {
  const summary: GoogleSyncSummary = {
    runs: 0,
    fullSync: false,
    pages: 0,
    upserted: 0,
    deleted: 0,
    busyChanged: false,
  };
  const leaseSeconds = deps.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  for (;;) {
    const claim = await deps.store.claimSync(target, leaseSeconds);
    if (!claim) return summary;
    summary.runs++;
    try {
      await syncClaimed(deps, target, claim, summary);
    } catch (error) {
      const reason = describe(error);
      if (error instanceof ReauthRequiredError) {
        await deps.store.markNeedsReauth(target.connectionId, reason);
      }
      await deps.store.finishSync(target, reason);
      throw error;
    }
    const { needsSync } = await deps.store.finishSync(target, null);
    if (!needsSync) return summary;
  }
}
