/**
 * The recalculate-schedule job: claim a user (with their inputs, one round trip) → idempotency
 * hash → engine → apply the plan and release the claim in one transaction, with per-user
 * coalescing. All I/O goes through the injected ScheduleStore (planning/store.ts) and the time
 * through the injected Clock, so this is unit-tested without a database.
 *
 * Coalescing (one recalculation per user at a time, a request during a run → exactly one
 * follow-up): mark → claim (only if marked and not running; clears the mark) → run → finish
 * (says whether marked again) → claim + run once more if so. A caller that cannot claim gets
 * `{ coalesced: true }`; the running one picks its request up. The mark is durable: the sync
 * sets it in the transaction that changed busy time, and the sweep serves marks nobody served.
 */
import { type Clock, systemClock } from "../clock.ts";
import { planSchedule } from "../scheduling/engine.ts";
import { DAY_MS, ScheduleInputError } from "../scheduling/types.ts";
import { scheduleInputHash } from "./input_hash.ts";
import {
  busyWindow,
  localDateOf,
  MAX_HORIZON_DAYS,
  planChanges,
  selectBusy,
  toEngineSession,
  toPreferences,
} from "./inputs.ts";
import type { Claim, LoadedInputs, RecalcTrigger, ScheduleStore } from "./store.ts";

export interface RecalcDeps {
  store: ScheduleStore;
  clock?: Clock;
  /** Lease of a claim (a crashed run blocks the user at most this long). Default 120 s. */
  leaseSeconds?: number;
  /** Plans re-made after an optimistic-concurrency conflict before giving up. Default 4. */
  maxAttempts?: number;
  /** Follow-up runs one call makes for requests that arrived meanwhile. Default 5. */
  maxFollowUps?: number;
}

export interface RecalcOptions {
  trigger: RecalcTrigger;
  /** Re-plan and write a schedule_runs row even if the input hash is unchanged. */
  force?: boolean;
  /** The user is already marked (by the sync's transaction): claim without requesting. */
  alreadyMarked?: boolean;
}

export interface RunSummary {
  /** The schedule_runs row, or null when nothing changed (and not forced). */
  run_id: string | null;
  /** True when the input hash equalled the last applied one: nothing was planned or written. */
  unchanged: boolean;
  moved: number;
  kept: number;
  placed: number;
  unscheduled: { id: string; reason: string }[];
  input_hash: string;
}

export type RecalcOutcome =
  | (RunSummary & { coalesced?: undefined; follow_ups: number })
  | { coalesced: true };

/** Raised when a plan could not be applied (lost lease, or conflicts on every attempt). */
export class RecalcConflictError extends Error {
  constructor(message: string, readonly reason: "conflict" | "lease_lost") {
    super(message);
    this.name = "RecalcConflictError";
  }
}

/** The busy-time window every run reads: wide enough for any horizon the schema allows. */
function loadWindow(now: number): { from: number; to: number } {
  return { from: now - 2 * DAY_MS, to: now + (MAX_HORIZON_DAYS + 4) * DAY_MS };
}

/**
 * One recalculation under a held claim: hash → engine → apply (re-planned on conflict). The
 * apply releases the claim; `needsRun` says whether a request arrived meanwhile, or is null
 * when nothing was applied (the caller then finishes the claim itself).
 */
export async function runRecalculation(
  deps: RecalcDeps,
  userId: string,
  claim: Claim,
  options: RecalcOptions,
): Promise<{ summary: RunSummary; needsRun: boolean | null }> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const maxAttempts = deps.maxAttempts ?? 4;
  let preloaded: LoadedInputs | null | undefined = claim.inputs;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const started = clock.monotonic();
    const now = clock.now();
    const window = loadWindow(now);
    const loaded = preloaded ?? await store.loadInputs(userId, window.from, window.to);
    preloaded = null;
    const preferences = toPreferences(loaded.preferences);
    if (preferences.horizon_days > MAX_HORIZON_DAYS) {
      throw new ScheduleInputError(`horizon_days must be at most ${MAX_HORIZON_DAYS}`);
    }
    const localDate = localDateOf(now, preferences.time_zone);
    const busy = selectBusy(
      loaded.busy,
      preferences,
      busyWindow(localDate, preferences.time_zone, preferences.horizon_days),
    );
    const inputHash = await scheduleInputHash({
      localDate,
      preferences,
      busy,
      sessions: loaded.sessions,
    });

    if (!options.force && inputHash === claim.last_input_hash) {
      const unscheduled = loaded.sessions.filter((s) => s.status === "unscheduled")
        .map((s) => ({ id: s.id, reason: s.unscheduled_reason ?? "unknown" }));
      return {
        summary: {
          run_id: null,
          unchanged: true,
          moved: 0,
          kept: loaded.sessions.length - unscheduled.length,
          placed: 0,
          unscheduled,
          input_hash: inputHash,
        },
        needsRun: null,
      };
    }

    const result = planSchedule({
      now,
      preferences,
      busy,
      sessions: loaded.sessions.map(toEngineSession),
    });
    const { changes, after } = planChanges(loaded.sessions, result);
    const afterHash = changes.length === 0
      ? inputHash
      : await scheduleInputHash({ localDate, preferences, busy, sessions: after });
    const changed = changes.length > 0;
    const durationMs = Math.max(0, Math.round(clock.monotonic() - started));
    const outcome = await store.applyPlan({
      userId,
      claimToken: claim.claim_token,
      expected: {
        sessions: Object.fromEntries(loaded.sessions.map((s) => [s.id, s.version])),
        preferences_updated_at: loaded.preferences?.updated_at ?? null,
      },
      inputHash: afterHash,
      localDate,
      changes,
      run: changed || options.force
        ? {
          trigger: options.trigger,
          forced: options.force === true,
          moved: result.moved,
          kept: result.kept,
          placed: result.placed,
          unscheduled: result.unscheduled,
          duration_ms: durationMs,
        }
        : null,
      finish: true,
    });
    if (outcome.status === "applied") {
      claim.last_input_hash = afterHash;
      return {
        summary: {
          run_id: outcome.run_id,
          unchanged: false,
          moved: result.moved,
          kept: result.kept,
          placed: result.placed,
          unscheduled: result.unscheduled,
          input_hash: afterHash,
        },
        needsRun: outcome.needs_run,
      };
    }
    if (outcome.status === "lease_lost") {
      throw new RecalcConflictError(
        "the recalculation's lease ran out and another run took over",
        "lease_lost",
      );
    }
    // conflict: sessions or preferences changed while planning; read again and re-plan.
  }
  throw new RecalcConflictError(
    `sessions kept changing during ${maxAttempts} attempts to apply a plan`,
    "conflict",
  );
}

/**
 * Recalculates one user's schedule, coalescing with a run in progress: returns
 * `{ coalesced: true }` when another run holds the user (it will do the follow-up), else the
 * first run's summary and how many follow-up runs this call made for requests meanwhile.
 */
export async function recalculateUser(
  deps: RecalcDeps,
  userId: string,
  options: RecalcOptions,
): Promise<RecalcOutcome> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const lease = deps.leaseSeconds ?? 120;
  const maxFollowUps = deps.maxFollowUps ?? 5;
  if (!options.alreadyMarked) await store.requestRecalc(userId, options.trigger);
  let claim = await store.claimRecalc(userId, lease, loadWindow(clock.now()));
  if (claim === null) return { coalesced: true };
  // A served mark is recorded with the trigger that set it (a calendar change, ...).
  let runOptions: RecalcOptions = options.alreadyMarked && claim.trigger
    ? { ...options, trigger: claim.trigger }
    : options;

  let first: RunSummary | undefined;
  let followUps = 0;
  for (;;) {
    let run: { summary: RunSummary; needsRun: boolean | null };
    try {
      run = await runRecalculation(deps, userId, claim, runOptions);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await store.finishRecalc(userId, claim.claim_token, message.slice(0, 500));
      throw error;
    }
    first ??= run.summary;
    const needsRun = run.needsRun ??
      (await store.finishRecalc(userId, claim.claim_token, null)).needs_run;
    if (!needsRun) break;
    if (followUps >= maxFollowUps) {
      console.warn(
        `[recalculate] user ${userId}: still marked after ${followUps} follow-ups; ` +
          "the sweep picks it up",
      );
      break;
    }
    const next = await store.claimRecalc(userId, lease, loadWindow(clock.now()));
    if (next === null) break; // someone else claimed it: they run it
    claim = next;
    runOptions = { ...runOptions, force: false };
    followUps++;
  }
  return { ...first, follow_ups: followUps };
}

export interface RecalcAllSummary {
  users: number;
  runs: number;
  unchanged: number;
  coalesced: number;
  failed: { user_id: string; error: string }[];
}

/** Recalculates the given users, a few at a time; one user's failure never stops the others. */
export async function recalculateUsers(
  deps: RecalcDeps,
  users: readonly string[],
  options: RecalcOptions & { concurrency?: number },
): Promise<RecalcAllSummary> {
  const summary: RecalcAllSummary = {
    users: users.length,
    runs: 0,
    unchanged: 0,
    coalesced: 0,
    failed: [],
  };
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const userId = users[next++];
      try {
        const outcome = await recalculateUser(deps, userId, options);
        if (outcome.coalesced) summary.coalesced++;
        else if (outcome.unchanged) summary.unchanged++;
        else if (outcome.run_id !== null) summary.runs++;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        console.error(`[recalculate] user ${userId} failed:`, message);
        summary.failed.push({ user_id: userId, error: message });
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, users.length)) }, worker),
  );
  return summary;
}

/** The roll-forward: every user the store says is due a plan for their new local day. */
export async function recalculateAll(
  deps: RecalcDeps,
  options: RecalcOptions & { concurrency?: number },
): Promise<RecalcAllSummary> {
  return recalculateUsers(deps, await deps.store.usersToPlan(), options);
}

/** The sweep: "needs a plan" marks nobody served (a failed request, a crashed run). */
export async function serveUnservedMarks(
  deps: RecalcDeps,
  options: { olderThanSeconds?: number; limit?: number; concurrency?: number } = {},
): Promise<RecalcAllSummary> {
  const users = await deps.store.unservedMarks(
    options.olderThanSeconds ?? 30,
    options.limit ?? 200,
  );
  return recalculateUsers(deps, users, {
    trigger: "calendar_change",
    alreadyMarked: true,
    concurrency: options.concurrency,
  });
}
