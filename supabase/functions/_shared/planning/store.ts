/**
 * The planning job's port: what recalculate-schedule reads and writes, as types and one
 * interface (every method is one SQL function of migration *_scheduling.sql, one transaction).
 * Implementations: store_postgrest.ts (the real one) and store_memory.ts (tests, benchmarks).
 * Instants are epoch milliseconds.
 */
import type { TimeRange, UnscheduledReason } from "../scheduling/types.ts";

export const RECALC_TRIGGERS = [
  "calendar_change",
  "manual",
  "roll_forward",
  "sessions_changed",
  "preferences_changed",
] as const;
export type RecalcTrigger = (typeof RECALC_TRIGGERS)[number];

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
  /** The trigger of the request that marked the user (served marks are recorded with it). */
  trigger?: RecalcTrigger | null;
  /** The inputs, when the claim was asked to load them (one round trip to start a run). */
  inputs?: LoadedInputs | null;
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
  /** Release the claim in the same transaction (the answer then says whether to follow up). */
  finish: boolean;
}

export type ApplyOutcome =
  | { status: "applied"; run_id: string | null; needs_run: boolean }
  | { status: "conflict" }
  | { status: "lease_lost" };

/** The database side of the job. Every method is one SQL function (one transaction). */
export interface ScheduleStore {
  /** Marks the user as needing a plan (a user who does not exist is a DbError P0002). */
  requestRecalc(userId: string, trigger: RecalcTrigger): Promise<{ running: boolean }>;
  /** Claims the user if marked and free; with `load`, the answer carries the inputs too. */
  claimRecalc(
    userId: string,
    leaseSeconds: number,
    load?: { from: number; to: number },
  ): Promise<Claim | null>;
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
  /** Users marked at least `olderThanSeconds` ago that no live run holds (oldest first). */
  unservedMarks(olderThanSeconds: number, limit: number): Promise<string[]>;
}
