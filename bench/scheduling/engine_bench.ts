/**
 * Scheduling engine benchmark: `deno run -A bench/scheduling/engine_bench.ts`
 * (optional env BENCH_SEED). Informational only — it never fails.
 *
 * For each seeded scenario (busy events / sessions) it times, warm, in the same process:
 * - engine "repair": planSchedule on an already-planned state (the common webhook case);
 * - engine "scratch": planSchedule with no stored plan;
 * - naive: naive_baseline.ts, O(slots × events) re-solve from scratch;
 * and, for one new event overlapping one placed session, how many sessions each approach moves.
 */
import { planSchedule } from "../../supabase/functions/_shared/scheduling/engine.ts";
import type {
  BusySource,
  Interval,
  ScheduleInput,
  ScheduleResult,
  Session,
} from "../../supabase/functions/_shared/scheduling/types.ts";
import { naivePlan } from "./naive_baseline.ts";

const MIN = 60_000;
const DAY = 86_400_000;
const TARGET_MS = 5;

/** xorshift32 PRNG: small, seeded, deterministic. */
function rng(seed: number): () => number {
  let x = (seed >>> 0) || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

function scenario(nBusy: number, nSessions: number, seed: number): ScheduleInput {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const now = Date.parse("2026-03-02T07:00:00Z"); // Monday 08:00 in Berlin
  // A mirrored calendar of ~7 events a day around now (5,000 events ≈ a year either side),
  // between 08:00 and 20:00 local-ish; only the horizon's share can touch the plan.
  const span = Math.max(14, Math.round(nBusy / 14));
  const busy: BusySource[] = [];
  for (let i = 0; i < nBusy; i++) {
    const day = int(-span, span);
    const start = now + day * DAY + int(0, 48) * 15 * MIN; // 08:00–20:00 local-ish
    busy.push({
      source: i % 10 === 0 ? "calendly" : "google",
      id: `evt_${seed}_${i}`,
      start,
      end: start + int(1, 8) * 15 * MIN,
    });
  }
  const sessions: Session[] = [];
  for (let i = 0; i < nSessions; i++) {
    const split = r() < 0.3;
    const locked = r() < 0.05;
    const lockStart = now + int(1, 20) * DAY + int(1, 8) * 60 * MIN;
    const duration = int(1, 4) * 15;
    sessions.push({
      id: `ses_${String(i).padStart(4, "0")}`,
      title: `Session ${i}`,
      duration_minutes: duration,
      min_block_minutes: split ? 15 : null,
      max_block_minutes: split ? 30 : null,
      earliest_start: r() < 0.1 ? now + int(1, 10) * DAY : null,
      deadline: r() < 0.2 ? now + int(5, 40) * DAY : null,
      priority: int(1, 4),
      locked,
      status: locked ? "scheduled" : "unscheduled",
      blocks: locked ? [{ start: lockStart, end: lockStart + duration * MIN }] : [],
    });
  }
  const range = [{ start: "09:00", end: "12:30" }, { start: "13:30", end: "18:00" }];
  return {
    now,
    preferences: {
      time_zone: "Europe/Berlin",
      working_hours: { mon: range, tue: range, wed: range, thu: range, fri: range },
      buffer_before_minutes: 5,
      buffer_after_minutes: 10,
      freeze_hours: 2,
      horizon_days: 42,
      tentative_is_busy: true,
    },
    busy,
    sessions,
  };
}

function withPlan(inp: ScheduleInput, res: ScheduleResult): ScheduleInput {
  const byId = new Map(res.sessions.map((s) => [s.id, s]));
  return {
    ...inp,
    sessions: inp.sessions.map((s) => {
      const o = byId.get(s.id)!;
      return { ...s, status: o.status, blocks: o.blocks.map(({ start, end }) => ({ start, end })) };
    }),
  };
}

function time(fn: () => unknown, warmup: number, runs: number): { median: number; p95: number } {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return { median: t[Math.floor(runs / 2)], p95: t[Math.min(runs - 1, Math.floor(runs * 0.95))] };
}

/**
 * A new 5-minute meeting at the start of a placed, unlocked, unfrozen session whose
 * buffer-widened interval touches that session only (searching outward from the middle of
 * the plan), so exactly one session is genuinely in conflict.
 */
function conflictingEvent(
  inp: ScheduleInput,
  plan: Map<string, Interval[]>,
): { ev: BusySource; sessionId: string } | null {
  const p = inp.preferences;
  const locked = new Set(inp.sessions.filter((s) => s.locked).map((s) => s.id));
  const freezeEnd = inp.now + p.freeze_hours * 3_600_000;
  const all = [...plan.entries()].flatMap(([id, bs]) => bs.map((b) => ({ id, b })));
  const placed = [...plan.entries()]
    .filter(([id, b]) => !locked.has(id) && b.length > 0 && b[0].start >= freezeEnd)
    .sort((a, b) => a[1][0].start - b[1][0].start);
  const mid = Math.floor(placed.length / 2);
  for (let k = 0; k < placed.length; k++) {
    const [sessionId, blocks] = placed[(mid + k) % placed.length];
    const start = blocks[0].start;
    const ev: BusySource = { source: "google", id: "new-meeting", start, end: start + 5 * MIN };
    const ws = ev.start - p.buffer_before_minutes * MIN;
    const we = ev.end + p.buffer_after_minutes * MIN;
    const hit = new Set(all.filter((x) => x.b.start < we && ws < x.b.end).map((x) => x.id));
    if (hit.size === 1 && hit.has(sessionId)) return { ev, sessionId };
  }
  return null;
}

function movedCount(a: Map<string, Interval[]>, b: Map<string, Interval[]>): number {
  let n = 0;
  for (const [id, blocks] of a) {
    const other = b.get(id) ?? [];
    const same = blocks.length === other.length &&
      blocks.every((x, i) => x.start === other[i].start && x.end === other[i].end);
    // a previously scheduled session whose blocks changed (moved or dropped)
    if (!same && blocks.length > 0) n++;
  }
  return n;
}

const planMap = (res: ScheduleResult) =>
  new Map(res.sessions.map((s) => [s.id, s.blocks.map(({ start, end }) => ({ start, end }))]));

const seed = Number(Deno.env.get("BENCH_SEED") ?? 42);
const sizes: [number, number][] = [[50, 10], [2000, 200], [5000, 300]];
const rows: string[][] = [];
let verdict = "";
for (const [nBusy, nSessions] of sizes) {
  const fresh = scenario(nBusy, nSessions, seed + nBusy);
  const first = planSchedule(fresh);
  const state = withPlan(fresh, first); // stored plan = engine output
  const heavy = nBusy >= 2000;
  const repair = time(() => planSchedule(state), 50, heavy ? 200 : 500);
  const scratch = time(() => planSchedule(fresh), 20, heavy ? 100 : 300);
  const naive = time(() => naivePlan(fresh), heavy ? 2 : 5, heavy ? 9 : 51);

  // One new conflicting meeting.
  const ec = conflictingEvent(state, planMap(first))!;
  const after = planSchedule({ ...state, busy: [...state.busy, ec.ev] });
  const engineMoved = movedCount(planMap(first), planMap(after));
  const naiveBefore = naivePlan(fresh).blocks;
  const nc = conflictingEvent(fresh, naiveBefore)!;
  const naiveAfter = naivePlan({ ...fresh, busy: [...fresh.busy, nc.ev] }).blocks;
  const naiveMoved = movedCount(naiveBefore, naiveAfter);

  const placed = first.sessions.filter((s) => s.blocks.length > 0).length;
  const naivePlaced = [...naiveBefore.values()].filter((b) => b.length > 0).length;
  rows.push([
    `${nBusy} / ${nSessions}`,
    repair.median.toFixed(3),
    repair.p95.toFixed(3),
    scratch.median.toFixed(3),
    naive.median.toFixed(2),
    `${(naive.median / repair.median).toFixed(0)}x`,
    `${placed} / ${naivePlaced}`,
    String(engineMoved),
    String(naiveMoved),
  ]);
  if (nBusy === 5000) {
    verdict = `VERDICT: engine at 5,000 busy / 300 sessions: repair median ${
      repair.median.toFixed(3)
    } ms, from-scratch median ${scratch.median.toFixed(3)} ms — ${
      Math.max(repair.median, scratch.median) < TARGET_MS ? "MEETS" : "MISSES"
    } the ${TARGET_MS} ms warm target; naive ${
      naive.median.toFixed(1)
    } ms; one new event moves ${engineMoved} (engine) vs ${naiveMoved} (naive) sessions`;
  }
}

const header = [
  "busy / sessions",
  "engine repair ms (median)",
  "repair p95",
  "engine scratch ms",
  "naive ms",
  "naive/engine",
  "placed engine/naive",
  "moved by 1 event: engine",
  "naive",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) =>
  "| " + cells.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
console.log(`scheduling engine bench (seed ${seed}, Deno ${Deno.version.deno})`);
console.log(line(header));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
for (const r of rows) console.log(line(r));
console.log(verdict);
