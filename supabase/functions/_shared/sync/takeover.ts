// A trigger marked a calendar that a run holds. A live run sees the mark when it finishes and
// runs the follow-up itself; a run that died (a killed worker, an instance that ran out of wall
// clock) would leave the calendar to the next trigger. So the trigger also schedules one
// deferred attempt for when the run's lease ends: the claim refuses it while the run lives (its
// heartbeat keeps extending the lease) and takes a dead run's calendar over, so a crash delays
// a change by about one lease, not until the next notification or the minute sweep. At most one
// attempt per calendar is pending in an instance, however many notifications arrive.
import { realSleep, type Sleep } from "../clock.ts";
import { runInBackground } from "../http/background.ts";
import type { SyncTarget } from "./types.ts";

const pending = new Set<string>();

export function takeOverWhenLeaseEnds(
  target: SyncTarget,
  leaseRemainingMs: number,
  sync: (target: SyncTarget) => Promise<unknown>,
  sleep: Sleep = realSleep,
): boolean {
  const key = `${target.connectionId}\u0000${target.calendarId}`;
  if (pending.has(key)) return false;
  pending.add(key);
  runInBackground("sync-takeover", async () => {
    try {
      await sleep(leaseRemainingMs + 250);
    } finally {
      pending.delete(key);
    }
    await sync(target);
  });
  return true;
}
