/**
 * The recalculate-schedule job: load a user's inputs → idempotency hash → engine → apply the
 * plan in one transaction, with per-user coalescing. All I/O goes through an injected
 * {@link ScheduleStore} and the clock through {@link Clock}, so this is unit-testable without a
 * database (`tests/unit/scheduling/recalculate_test.ts`); `store_supabase.ts` is the real store
 * (the SQL functions of migration 20261121000200_scheduling.sql).
 *
 * Coalescing (one recalculation per user at a time, a request during a run → exactly one
 * follow-up): request (dirty mark) → claim (only if dirty and not running; clears the mark) →
 * run → finish (says whether dirty again) → claim + run once more if so. A caller that cannot
 * claim gets `{ coalesced: true }`; the running one picks its request up.
 *
 * Idempotency hash ({@link scheduleInputHash}): SHA-256 (hex) of canonical JSON of exactly what
 * the plan depends on — the user's local date (so the first run of a new day re-plans), the
 * preferences, the busy intervals the engine sees (after the tentative policy, inside the hash
 * window), and each active session's planning fields with its stored status, reason and blocks.
 * Not `now`, titles, versions or timestamps. The state stores the hash of the inputs AFTER a plan
 * was applied (the engine is idempotent, so re-reading that state plans nothing new): an
 * unchanged input then matches and the run writes nothing.
 */
import { Temporal } from "temporal-polyfill";
import { planSchedule } from "./engine.ts";
import {
  type BusySource,
  DAY_MS,
  type Preferences,
  ScheduleInputError,
  type ScheduleResult,
  type Session,
  type TimeRange,
  type UnscheduledReason,
} from "./types.ts";
import { assertTimeZone, WEEKDAYS } from "./working_windows.ts";

export const RECALC_TRIGGERS = [
  "calendar_change",
  "manual",
  "nightly",
  "sessions_changed",
  "preferences_changed",
] as const;
export type RecalcTrigger = (typeof RECALC_TRIGGERS)[number];

/** The column defaults of `public.scheduling_preferences`, for users without a row. */
export const DEFAULT_PREFERENCES: Readonly<Required<Omit<Preferences, "granularity_minutes">>> = {
  time_zone: "UTC",
  working_hours: Object.fromEntries(
    (["mon", "tue", "wed", "thu", "fri"] as const).map((d) => [d, [
      { start: "09:00", end: "12:00" },
      { start: "13:00", end: "17:00" },
    ]]),
  ),
  buffer_before_minutes: 10,
  buffer_after_minutes: 10,
  freeze_hours: 12,
  horizon_days: 14,
  tentative_is_busy: true,
};

/** The largest horizon the schema allows (`horizon_days between 1 and 60`). */
export const MAX_HORIZON_DAYS = 60;

// ---------------------------------------------------------------------------------------------
// What the store reads and writes (instants in epoch ms).

export interface StoredBlock {
  index: number;
  start: number;
  end: number;
}

export interface StoredSession {
  id: string;
  title: string;
  duration_minutes: number;
  min_block_minutes: number | null;
  max_block_minutes: number | null;
  earliest_start: number | null;
  deadline: number | null;
  priority: number;
  locked: boolean;
  status: "scheduled" | "unscheduled";
  unscheduled_reason: string | null;
  version: number;
  blocks: StoredBlock[];
}

export interface StoredPreferences {
  time_zone: string;
  working_hours: Partial<Record<string, TimeRange[]>>;
  buffer_before_minutes: number;
  buffer_after_minutes: number;
  freeze_hours: number;
  horizon_days: number;
  tentative_is_busy: boolean;
  /** Opaque; handed back to the apply step for its optimistic check. */
  updated_at: string;
}

export interface StoredBusy {
  source: string;
  id: string;
  start: number;
  end: number;
  tentative: boolean;
}

export interface LoadedInputs {
  /** null: the user has no row, plan with {@link DEFAULT_PREFERENCES}. */
  preferences: StoredPreferences | null;
  /** Active (scheduled/unscheduled) sessions only. */
  sessions: StoredSession[];
  busy: StoredBusy[];
}

export interface Claim {
  claim_token: string;
  last_input_hash: string | null;
}

export interface SessionChange {
  id: string;
  status: "scheduled" | "unscheduled";
  unscheduled_reason: UnscheduledReason | null;
  /** The complete new block list of the session. */
  blocks: StoredBlock[];
}

export interface RunRecord {
  trigger: RecalcTrigger;
  forced: boolean;
  moved: number;
  kept: number;
  placed: number;
  unscheduled: { id: string; reason: UnscheduledReason }[];
  duration_ms: number;
}

export interface ApplyRequest {
  userId: string;
  claimToken: string;
  expected: { sessions: Record<string, number>; preferences_updated_at: string | null };
  inputHash: string;
  localDate: string;
  changes: SessionChange[];
  /** null: nothing changed and not forced, so no schedule_runs row. */
  run: RunRecord | null;
}

export type ApplyOutcome =
  | { status: "applied"; run_id: string | null }
  | { status: "conflict" }
  | { status: "lease_lost" };

/** The database side of the job. Every method is one SQL function (one transaction). */
export interface ScheduleStore {
  requestRecalc(userId: string): Promise<{ running: boolean }>;
  claimRecalc(userId: string, leaseSeconds: number): Promise<Claim | null>;
  finishRecalc(
    userId: string,
    claimToken: string,
    error: string | null,
  ): Promise<{ needs_run: boolean }>;
  /** Active sessions, preferences, and busy time overlapping `[from, to)` (epoch ms). */
  loadInputs(userId: string, from: number, to: number): Promise<LoadedInputs>;
  applyPlan(request: ApplyRequest): Promise<ApplyOutcome>;
  /** Users with active sessions not yet planned on their current local date. */
  usersToPlan(): Promise<string[]>;
}

export interface Clock {
  /** Epoch ms. */
  now(): number;
  /** Monotonic ms, for durations. */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

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

// ---------------------------------------------------------------------------------------------
// Pure helpers.

export function toPreferences(stored: StoredPreferences | null): Preferences {
  const p = stored ?? DEFAULT_PREFERENCES;
  return {
    time_zone: p.time_zone,
    working_hours: p.working_hours,
    buffer_before_minutes: p.buffer_before_minutes,
    buffer_after_minutes: p.buffer_after_minutes,
    freeze_hours: p.freeze_hours,
    horizon_days: p.horizon_days,
    tentative_is_busy: p.tentative_is_busy,
  };
}

/** The user's local date (`YYYY-MM-DD`) at `now`. Throws ScheduleInputError for a bad zone. */
export function localDateOf(now: number, timeZone: string): string {
  assertTimeZone(timeZone);
  return Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone).toPlainDate()
    .toString();
}

/**
 * The busy time that can matter to a plan made on `localDate`, as a fixed window for the whole
 * local day: from the day's start minus one day to its start plus horizon + 2 days. It holds
 * everything the engine looks at for any `now` that day ([now + freeze − buffer, now + horizon
 * + buffer), buffers ≤ 4 h), and does not slide with `now`, so the hash is stable within a day.
 */
export function busyWindow(localDate: string, timeZone: string, horizonDays: number): {
  from: number;
  to: number;
} {
  const dayStart = Temporal.PlainDate.from(localDate).toZonedDateTime(timeZone).epochMilliseconds;
  return { from: dayStart - DAY_MS, to: dayStart + (horizonDays + 2) * DAY_MS };
}

/** The busy sources the engine sees: tentative policy applied, inside the window. */
export function selectBusy(
  busy: readonly StoredBusy[],
  prefs: Preferences,
  window: { from: number; to: number },
): BusySource[] {
  const tentativeIsBusy = prefs.tentative_is_busy ?? true;
  const out: BusySource[] = [];
  for (const b of busy) {
    if (b.tentative && !tentativeIsBusy) continue;
    if (!(b.end > b.start) || b.end <= window.from || b.start >= window.to) continue;
    out.push({ source: b.source, id: b.id, start: b.start, end: b.end });
  }
  return out;
}

/** What of a session the plan depends on: everything but its title and version. */
type HashSession = Omit<StoredSession, "title" | "version" | "blocks"> & {
  blocks: readonly StoredBlock[];
};

export interface HashInput {
  localDate: string;
  preferences: Preferences;
  busy: readonly BusySource[];
  sessions: readonly HashSession[];
}

function cmp(a: string | number, b: string | number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical JSON the idempotency hash is computed over (exported for tests). */
export function canonicalHashJson(input: HashInput): string {
  const p = input.preferences;
  const hours = WEEKDAYS.map((day) =>
    [...(p.working_hours[day] ?? [])].map((r) => [r.start, r.end])
      .sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]))
  );
  const busy = input.busy.map((b) => [b.start, b.end]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sessions = [...input.sessions].sort((a, b) => cmp(a.id, b.id)).map((s) => [
    s.id,
    s.duration_minutes,
    s.min_block_minutes ?? null,
    s.max_block_minutes ?? null,
    s.earliest_start ?? null,
    s.deadline ?? null,
    s.priority,
    s.locked,
    s.status,
    s.unscheduled_reason ?? null,
    [...s.blocks].sort((a, b) => a.index - b.index).map((b) => [b.index, b.start, b.end]),
  ]);
  return JSON.stringify([
    "recalculate-schedule/v1",
    input.localDate,
    [
      p.time_zone,
      hours,
      p.buffer_before_minutes,
      p.buffer_after_minutes,
      p.freeze_hours,
      p.horizon_days,
      p.tentative_is_busy ?? true,
      p.granularity_minutes ?? null,
    ],
    busy,
    sessions,
  ]);
}

/** SHA-256 (64 hex chars) of {@link canonicalHashJson}. */
export async function scheduleInputHash(input: HashInput): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(canonicalHashJson(input)),
  );
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function toEngineSession(s: StoredSession): Session {
  return {
    id: s.id,
    title: s.title,
    duration_minutes: s.duration_minutes,
    min_block_minutes: s.min_block_minutes,
    max_block_minutes: s.max_block_minutes,
    earliest_start: s.earliest_start,
    deadline: s.deadline,
    priority: s.priority,
    locked: s.locked,
    status: s.status,
    blocks: s.blocks.map((b) => ({ start: b.start, end: b.end })),
  };
}

function sameStoredBlocks(a: readonly StoredBlock[], b: readonly StoredBlock[]): boolean {
  if (a.length !== b.length) return false;
  const byIndex = new Map(a.map((x) => [x.index, x]));
  return b.every((y) => {
    const x = byIndex.get(y.index);
    return x !== undefined && x.start === y.start && x.end === y.end;
  });
}

/**
 * The per-session writes that turn the stored plan into the engine's: status, reason and the
 * complete block list of every session where any of them differs (block indices as stored, so a
 * re-keyed set of the same blocks is a change too). Unchanged sessions are not listed.
 */
export function planChanges(stored: readonly StoredSession[], result: ScheduleResult): {
  changes: SessionChange[];
  after: HashSession[];
} {
  const byId = new Map(result.sessions.map((r) => [r.id, r]));
  const changes: SessionChange[] = [];
  const after: HashSession[] = [];
  for (const s of stored) {
    const r = byId.get(s.id);
    if (r === undefined) throw new Error(`engine returned no result for session ${s.id}`);
    const blocks = r.blocks.map((b) => ({ index: b.index, start: b.start, end: b.end }));
    const reason = r.reason ?? null;
    if (
      r.status !== s.status || reason !== s.unscheduled_reason ||
      !sameStoredBlocks(s.blocks, blocks)
    ) {
      changes.push({ id: s.id, status: r.status, unscheduled_reason: reason, blocks });
    }
    after.push({ ...s, status: r.status, unscheduled_reason: reason, blocks });
  }
  return { changes, after };
}

// ---------------------------------------------------------------------------------------------
// The job.

/** One recalculation under a held claim: load → hash → engine → apply (re-planned on conflict). */
export async function runRecalculation(
  deps: RecalcDeps,
  userId: string,
  claim: Claim,
  options: RecalcOptions,
): Promise<RunSummary> {
  const { store } = deps;
  const clock = deps.clock ?? systemClock;
  const maxAttempts = deps.maxAttempts ?? 4;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const started = clock.monotonic();
    const now = clock.now();
    const loaded = await store.loadInputs(
      userId,
      now - 2 * DAY_MS,
      now + (MAX_HORIZON_DAYS + 4) * DAY_MS,
    );
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
        run_id: null,
        unchanged: true,
        moved: 0,
        kept: loaded.sessions.length - unscheduled.length,
        placed: 0,
        unscheduled,
        input_hash: inputHash,
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
    });
    if (outcome.status === "applied") {
      claim.last_input_hash = afterHash;
      return {
        run_id: outcome.run_id,
        unchanged: false,
        moved: result.moved,
        kept: result.kept,
        placed: result.placed,
        unscheduled: result.unscheduled,
        input_hash: afterHash,
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
  const lease = deps.leaseSeconds ?? 120;
  const maxFollowUps = deps.maxFollowUps ?? 5;
  await store.requestRecalc(userId);
  let claim = await store.claimRecalc(userId, lease);
  if (claim === null) return { coalesced: true };

  let first: RunSummary | undefined;
  let followUps = 0;
  for (;;) {
    let summary: RunSummary;
    try {
      summary = await runRecalculation(
        deps,
        userId,
        claim,
        first ? { ...options, force: false } : options,
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await store.finishRecalc(userId, claim.claim_token, message.slice(0, 500));
      throw error;
    }
    first ??= summary;
    const finished = await store.finishRecalc(userId, claim.claim_token, null);
    if (!finished.needs_run) break;
    if (followUps >= maxFollowUps) {
      console.warn(
        `[recalculate] user ${userId}: still dirty after ${followUps} follow-ups; ` +
          "the next request picks it up",
      );
      break;
    }
    const next = await store.claimRecalc(userId, lease);
    if (next === null) break; // someone else claimed it: they run it
    claim = next;
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

/** The roll-forward: every user {@link ScheduleStore.usersToPlan} names, a few at a time. */
export async function recalculateAll(
  deps: RecalcDeps,
  options: RecalcOptions & { concurrency?: number },
): Promise<RecalcAllSummary> {
  const users = await deps.store.usersToPlan();
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
