// The sync of one watched calendar, the same for every provider: claim the calendar (one run at
// a time), page the provider's changes from the stored cursor (or a full sync), store each page
// under the claim, and move the cursor only with the last page. A claim is short and extended
// while the run makes progress (each stored page, and a heartbeat during long provider calls),
// so a crashed run blocks the calendar for seconds, not minutes. The last page's store also
// releases the claim and, if the calendar was marked meanwhile, hands back the follow-up's claim
// (exactly one follow-up however many notifications arrived); in a storm, follow-ups are paced
// (followUpSpacingMs). A cursor the provider rejects restarts as a full sync in a new
// generation, whose leftovers go when it completes.
// Pure of I/O details: the store, the provider's strategy and the clock are injected.
import { type Clock, realSleep, type Sleep, systemClock } from "../clock.ts";
import { describeError, ReauthRequiredError } from "../net/provider_error.ts";
import type { SyncStore } from "./store.ts";
import {
  type ChangeStrategy,
  type ClaimRefusal,
  CursorExpiredError,
  type SyncClaim,
  type SyncTarget,
} from "./types.ts";

export interface SyncRunDependencies {
  store: SyncStore;
  /** The provider's strategy for a claim's connection (built once per run). */
  strategy: (claim: SyncClaim, target: SyncTarget) => ChangeStrategy | Promise<ChangeStrategy>;
  clock?: Clock;
  /** How long a claim holds without progress. */
  leaseSeconds: number;
  /** Called once per call whose stored pages changed busy time (the plan mark is already set). */
  onBusyChanged?: (userId: string) => Promise<void> | void;
  log?: (line: string) => void;
  /**
   * Follow-ups start only while the call is younger than this (ms; default 60 s, well inside
   * the hosted wall clock). A calendar that keeps changing longer is left marked for the next
   * trigger or the minute sweep of stale marks.
   */
  followUpBudgetMs?: number;
  /**
   * A follow-up starts at least this long after the run before it started (ms; default 1 s).
   * A bulk edit sends one notification per changed event; each run still reads every change
   * since the last (the cursor), so pacing only bounds how often a storm lists: the mirror
   * trails a storm by about a second, and one calendar cannot spend the user's Google quota
   * (600 requests a minute) or the instance's CPU on a list per notification. A change that
   * arrives while nothing runs is synced at once.
   */
  followUpSpacingMs?: number;
  /** How the pause between follow-ups waits (tests pass one that only records it). */
  sleep?: Sleep;
}

export interface SyncSummary {
  /** Claims taken: 0 when another run holds the calendar or nothing was marked. */
  runs: number;
  /** Why nothing ran, when nothing ran. */
  refused?: ClaimRefusal;
  fullSync: boolean;
  pages: number;
  /** Items new to the mirror / that replaced a stored version (upserted = both). */
  inserted: number;
  updated: number;
  upserted: number;
  deleted: number;
  busyChanged: boolean;
  /** Provider API requests made by this call. */
  apiRequests: number;
  /** A newer run took the calendar over (our lease had run out). */
  lost: boolean;
}

class LeaseLostError extends Error {}

/** Extends the claim every third of the lease while `work` runs; stops when it settles. */
async function withHeartbeat<T>(
  deps: SyncRunDependencies,
  target: SyncTarget,
  claim: { claim: string },
  work: () => Promise<T>,
): Promise<T> {
  let lost = false;
  const timer = setInterval(() => {
    deps.store.extendLease(target, claim.claim, deps.leaseSeconds)
      .then((ours) => {
        if (!ours) lost = true;
      })
      .catch(() => {/* the next store call decides */});
  }, Math.max(500, (deps.leaseSeconds * 1000) / 3));
  try {
    const result = await work();
    if (lost) throw new LeaseLostError();
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** One claimed run: every page stored; returns the follow-up claim if the store handed one. */
async function runClaimed(
  deps: SyncRunDependencies,
  target: SyncTarget,
  claim: SyncClaim,
  strategy: ChangeStrategy,
  summary: SyncSummary,
): Promise<SyncClaim | null> {
  let generation = claim.generation;
  let cursor = claim.cursor;
  for (let restarted = false;;) {
    const isFullSync = cursor === null;
    summary.fullSync ||= isFullSync;
    try {
      for await (const page of strategy.pages({ cursor, timeZone: claim.timeZone })) {
        summary.pages++;
        const isLast = page.nextCursor !== undefined;
        // Providers may send empty pages mid-sequence; only the last one must be stored.
        if (!isLast && page.items.length === 0 && page.removedIds.length === 0) continue;
        const stored = await deps.store.storePage({
          ...target,
          claim: claim.claim,
          generation,
          page,
          isFullSync,
          sweep: strategy.fullSyncSweep(),
          leaseSeconds: deps.leaseSeconds,
        });
        if (stored.status === "lost") throw new LeaseLostError();
        summary.inserted += stored.inserted;
        summary.updated += stored.updated;
        summary.upserted += stored.upserted;
        summary.deleted += stored.deleted;
        summary.busyChanged ||= stored.busyChanged;
        if (stored.finished) return stored.followUp;
      }
      throw new Error("the provider's pages ended without a cursor");
    } catch (error) {
      if (!(error instanceof CursorExpiredError) || restarted) throw error;
      // Never swallow an expired cursor: start a new generation and read everything again.
      const next = await deps.store.restartFull(target, claim.claim);
      if (next === null) throw new LeaseLostError();
      generation = next;
      cursor = null;
      restarted = true;
    }
  }
}

/**
 * Syncs the calendar if it is marked and free, then the follow-ups of notifications that
 * arrived meanwhile. A failure releases the claim with the error and rethrows (the calendar
 * stays marked, so the next notification, backup or sweep converges); `invalid_grant` also
 * flags the connection. `initialClaim` lets a caller that already holds a claim start with it.
 */
export async function syncCalendar(
  deps: SyncRunDependencies,
  target: SyncTarget,
  initialClaim?: SyncClaim,
): Promise<SyncSummary> {
  const clock = deps.clock ?? systemClock;
  const summary: SyncSummary = {
    runs: 0,
    fullSync: false,
    pages: 0,
    inserted: 0,
    updated: 0,
    upserted: 0,
    deleted: 0,
    busyChanged: false,
    apiRequests: 0,
    lost: false,
  };
  const first: SyncClaim | ClaimRefusal = initialClaim ??
    await deps.store.claim(target, deps.leaseSeconds);
  if (typeof first === "string") return { ...summary, refused: first };
  let claim: SyncClaim | null = first;

  const userId = first.connection.user_id;
  const provider = first.connection.provider;
  const started = clock.monotonic();
  const strategy = await deps.strategy(first, target);
  const requestsBefore = strategy.requests();
  const followUpBudgetMs = deps.followUpBudgetMs ?? 60_000;
  const followUpSpacingMs = Math.min(
    deps.followUpSpacingMs ?? 1000,
    (deps.leaseSeconds * 1000) / 3, // the held follow-up claim must outlive the pause
  );
  const sleep = deps.sleep ?? realSleep;
  let runStarted: number | null = null;
  try {
    while (claim !== null) {
      const current: SyncClaim = claim;
      if (runStarted !== null) {
        const pause = runStarted + followUpSpacingMs - clock.monotonic();
        if (pause > 0) await sleep(pause);
      }
      runStarted = clock.monotonic();
      summary.runs++;
      let followUp: SyncClaim | null;
      try {
        followUp = await withHeartbeat(
          deps,
          target,
          current,
          () => runClaimed(deps, target, current, strategy, summary),
        );
      } catch (error) {
        if (error instanceof LeaseLostError) {
          summary.lost = true;
          return summary;
        }
        const reason = describeError(error).slice(0, 500);
        if (error instanceof ReauthRequiredError) {
          await deps.store.markNeedsReauth(target.connectionId, reason);
        }
        await deps.store.finish(target, current.claim, reason);
        throw error;
      }
      if (followUp && clock.monotonic() - started >= followUpBudgetMs) {
        // Leave the calendar marked for the next trigger rather than outliving the wall clock.
        await deps.store.finish(target, followUp.claim, null, { remark: true });
        break;
      }
      claim = followUp;
    }
  } finally {
    summary.apiRequests = strategy.requests() - requestsBefore;
    if (summary.runs > 0) {
      const line = strategy.completionLine?.(summary);
      if (line) deps.log?.(line);
      deps.log?.(
        `[${provider}-sync] ${summary.fullSync ? "FULL" : "INCREMENTAL"} sync complete: ` +
          `connection=${target.connectionId} calendar=${target.calendarId} runs=${summary.runs} ` +
          `pages=${summary.pages} upserted=${summary.upserted} deleted=${summary.deleted} ` +
          `busy_changed=${summary.busyChanged} api_requests=${summary.apiRequests} ` +
          `ms=${Math.round(clock.monotonic() - started)}`,
      );
    }
  }
  if (summary.busyChanged && deps.onBusyChanged) await deps.onBusyChanged(userId);
  return summary;
}
