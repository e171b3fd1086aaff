/**
 * The idempotency hash of a plan's inputs: SHA-256 (hex) of canonical JSON of exactly what the
 * plan depends on — the user's local date (so the first run of a new day re-plans), the
 * preferences, the busy intervals the engine sees (after the tentative policy, inside the hash
 * window), and each active session's planning fields with its stored status, reason and blocks.
 * Not `now`, titles, versions or timestamps. The state stores the hash of the inputs AFTER a plan
 * was applied (the engine is idempotent, so re-reading that state plans nothing new): an
 * unchanged input then matches and the run writes nothing. This is the only `input_hash`.
 */
import { Buffer } from "node:buffer";
import type { BusySource, Preferences } from "../scheduling/types.ts";
import { WEEKDAYS } from "../scheduling/working_windows.ts";
import type { StoredBlock, StoredSession } from "./store.ts";

export type HashSession = Omit<StoredSession, "title" | "version" | "blocks"> & {
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
  return Buffer.from(digest).toString("hex");
}
