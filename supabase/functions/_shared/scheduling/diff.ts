/**
 * Deterministic block keys and the diff between the stored plan and the new one.
 *
 * Key = `${session_id}:${index}` where `index` is the block's position in start order within
 * its session. The stored plan is keyed the same way (from `Session.blocks`, sorted), so:
 * - an unchanged session produces no upserts and no deletes (an unchanged plan → empty diff);
 * - a moved block is ONE upsert of the same key with new times (patch in place, no delete);
 * - a session that shrinks from 3 to 2 blocks deletes `id:2`; one that becomes unscheduled
 *   deletes all its keys.
 * Done/cancelled sessions are outside the engine and never appear in the diff.
 */
import type { Block, PlanBlock, PlanDiff } from "./types.ts";

export function blockKey(sessionId: string, index: number): string {
  return `${sessionId}:${index}`;
}

/** Sorts blocks by (start, end) and assigns keys. Does not mutate its input. */
export function keyBlocks(sessionId: string, blocks: readonly PlanBlock[]): Block[] {
  return [...blocks].sort((a, b) => a.start - b.start || a.end - b.end).map((b, index) => ({
    key: blockKey(sessionId, index),
    session_id: sessionId,
    index,
    start: b.start,
    end: b.end,
  }));
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Diff of old keyed blocks against new keyed blocks (both for any number of sessions). */
export function diffPlans(oldBlocks: readonly Block[], newBlocks: readonly Block[]): PlanDiff {
  const old = new Map<string, Block>();
  for (const b of oldBlocks) old.set(b.key, b);
  const upserts: Block[] = [];
  const seen = new Set<string>();
  for (const b of newBlocks) {
    seen.add(b.key);
    const prev = old.get(b.key);
    if (prev === undefined || prev.start !== b.start || prev.end !== b.end) upserts.push(b);
  }
  const deletes: string[] = [];
  for (const key of old.keys()) if (!seen.has(key)) deletes.push(key);
  upserts.sort((a, b) => cmpStr(a.key, b.key));
  deletes.sort(cmpStr);
  return { upserts, deletes };
}

/** True if two block lists (same session) hold exactly the same intervals. */
export function sameBlocks(a: readonly PlanBlock[], b: readonly PlanBlock[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].start !== b[i].start || a[i].end !== b[i].end) return false;
  }
  return true;
}
