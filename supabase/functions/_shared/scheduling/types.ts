/**
 * Inputs and outputs of the pure scheduling engine.
 *
 * All instants are epoch milliseconds (UTC). All intervals are half-open `[start, end)`.
 */

/** Epoch milliseconds (UTC). */
export type EpochMs = number;

/** A half-open UTC interval `[start, end)` in epoch ms. */
export interface Interval {
  start: EpochMs;
  end: EpochMs;
}

/**
 * One already-classified busy interval. Any source plugs in by producing these; the engine
 * never looks at `source`, so a new source needs no engine change.
 */
export interface BusySource {
  /** Where the busy time comes from (opaque to the engine). */
  source: string;
  /** Identifier within the source (event id, booking id, ...). */
  id: string;
  start: EpochMs;
  end: EpochMs;
}

export type SessionStatus = "scheduled" | "unscheduled" | "done" | "cancelled";

/** A block of the current (stored) plan of a session. */
export interface PlanBlock {
  start: EpochMs;
  end: EpochMs;
}

export interface Session {
  id: string;
  title: string;
  /** Total length to schedule, in whole minutes (> 0). */
  duration_minutes: number;
  /**
   * Block limits. If either is set the session may be split into blocks whose lengths lie in
   * `[min, max]`; a missing min defaults to {@link DEFAULT_MIN_BLOCK_MINUTES} (capped at max and
   * duration), a missing max defaults to the duration. Without both the session is one block.
   */
  min_block_minutes?: number | null;
  max_block_minutes?: number | null;
  /** No block may start before this instant. */
  earliest_start?: EpochMs | null;
  /** Every block must end by this instant. */
  deadline?: EpochMs | null;
  /** Lower = more important (e.g. 1..4). */
  priority: number;
  /** Locked sessions never move and count as busy time for the others. */
  locked: boolean;
  /** `done` and `cancelled` sessions are ignored entirely (not in the result, not busy). */
  status: SessionStatus;
  /** The current stored plan (may be empty). */
  blocks: PlanBlock[];
}

export type Weekday = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/** A local wall-clock range `"HH:MM"`–`"HH:MM"` (end may be `"24:00"`). */
export interface TimeRange {
  start: string;
  end: string;
}

export interface Preferences {
  /** IANA time zone, e.g. `"Europe/Berlin"`. */
  time_zone: string;
  /** Several ranges per weekday are allowed; a missing/empty day has no working hours. */
  working_hours: Partial<Record<Weekday, TimeRange[]>>;
  /** Free gap kept before external busy time (not around sessions). */
  buffer_before_minutes: number;
  /** Free gap kept after external busy time (not around sessions). */
  buffer_after_minutes: number;
  /** Sessions with a block starting before `now + freeze_hours` never move. */
  freeze_hours: number;
  /** Plan from `now` to `now + horizon_days * 24h`. */
  horizon_days: number;
  /** Whether tentative busy time counts (applied by the planning job, not by the engine). */
  tentative_is_busy?: boolean;
  /**
   * New blocks start on multiples of this many minutes (epoch-aligned, so also aligned in every
   * zone whose offset is a multiple of it). Default 5. Must divide 60. Kept blocks need not align.
   */
  granularity_minutes?: number;
}

export interface ScheduleInput {
  /** The clock; the engine never reads the system time. */
  now: EpochMs;
  preferences: Preferences;
  busy: BusySource[];
  sessions: Session[];
}

/**
 * Why a session could not be (fully) placed. Checked in this order:
 *
 * | reason                           | meaning                                                             |
 * |----------------------------------|---------------------------------------------------------------------|
 * | `invalid_session`                | duration not a positive whole number of minutes, or bad block limits |
 * | `block_limits_unsatisfiable`     | duration cannot be split into blocks of length within [min, max]   |
 * | `locked_without_blocks`          | locked but has no blocks: the engine never places locked sessions   |
 * | `deadline_passed`                | deadline ≤ now                                                      |
 * | `earliest_start_after_deadline`  | earliest_start + duration > deadline: can never fit                 |
 * | `beyond_horizon`                 | earliest_start is at or after the end of the horizon                |
 * | `no_working_hours`               | no working hours between max(earliest_start, now + freeze) and min(deadline, horizon end) |
 * | `no_free_time_before_deadline`   | there are working hours, but not enough free time before a deadline inside the horizon |
 * | `no_free_time_in_horizon`        | there are working hours, but not enough free time in the horizon   |
 */
export type UnscheduledReason =
  | "invalid_session"
  | "block_limits_unsatisfiable"
  | "locked_without_blocks"
  | "deadline_passed"
  | "earliest_start_after_deadline"
  | "beyond_horizon"
  | "no_working_hours"
  | "no_free_time_before_deadline"
  | "no_free_time_in_horizon";

export const UNSCHEDULED_REASONS: readonly UnscheduledReason[] = [
  "invalid_session",
  "block_limits_unsatisfiable",
  "locked_without_blocks",
  "deadline_passed",
  "earliest_start_after_deadline",
  "beyond_horizon",
  "no_working_hours",
  "no_free_time_before_deadline",
  "no_free_time_in_horizon",
];

/** A block of the new plan with its deterministic key (see `diff.ts`). */
export interface Block {
  /** `${session_id}:${index}`, index in start order within the session. */
  key: string;
  session_id: string;
  index: number;
  start: EpochMs;
  end: EpochMs;
}

/**
 * - `kept`: the session has exactly the blocks it had (valid plan, locked, or frozen).
 * - `moved`: it had blocks and now has different ones.
 * - `placed`: it had no blocks and now has some.
 * - `unscheduled`: it has no blocks in the new plan (see `reason`).
 */
export type SessionAction = "kept" | "moved" | "placed" | "unscheduled";

export interface SessionResult {
  id: string;
  status: "scheduled" | "unscheduled";
  blocks: Block[];
  action: SessionAction;
  reason?: UnscheduledReason;
}

export interface PlanDiff {
  /** Blocks whose key is new or whose start/end changed. Sorted by key. */
  upserts: Block[];
  /** Keys of stored blocks that no longer exist. Sorted. */
  deletes: string[];
}

export interface ScheduleResult {
  /** One entry per non-done, non-cancelled input session, sorted by id. */
  sessions: SessionResult[];
  moved: number;
  kept: number;
  placed: number;
  unscheduled: { id: string; reason: UnscheduledReason }[];
  diff: PlanDiff;
}

/** Thrown for structurally invalid input (bad time zone, malformed HH:MM, duplicate ids...). */
export class ScheduleInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScheduleInputError";
  }
}

export const DEFAULT_MIN_BLOCK_MINUTES = 15;
export const DEFAULT_GRANULARITY_MINUTES = 5;
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
