// Drains the outbound queue: claims small batches (visibility timeout: a crashed batch
// reappears), and hands each item to its provider's writer. A connection's items are written
// one after another (Google limits rapid writes to one calendar); connections are worked on a
// few at a time. The outcome of each item goes back to the queue: done (with the link the write
// left), a transient failure (capped exponential backoff with jitter, or the provider's
// Retry-After; FAILED after the last attempt), a permanent one (FAILED with its error), or
// invalid_grant (the connection's items are HELD until the user reconnects, nothing lost).
// Runs until nothing is due or its time budget (well inside the hosted wall clock) is spent; a
// retry that comes due within the budget (and within 30 s) is waited for rather than left to
// the minute sweep.
import { type Clock, realSleep, type Sleep, systemClock } from "../clock.ts";
import { describeError, ProviderApiError, ReauthRequiredError } from "../net/provider_error.ts";
import type { OutboundStore } from "./store.ts";
import type { OutboundItem, OutboundWriter, WriteOutcome } from "./types.ts";

export interface ProcessorDeps {
  store: OutboundStore;
  /** The writer for an item's connection (one per connection per batch). */
  writerFor: (item: OutboundItem) => OutboundWriter;
  clock?: Clock;
  sleep?: Sleep;
  batchSize?: number;
  visibilitySeconds?: number;
  /** Stop claiming after this long (ms). */
  budgetMs?: number;
  concurrency?: number;
}

export interface ProcessorReport {
  claimed: number;
  done: number;
  retried: number;
  failed: number;
  held: number;
}

function classify(error: unknown): WriteOutcome | "hold" {
  if (error instanceof ReauthRequiredError) return "hold";
  if (error instanceof ProviderApiError && !error.retryable) {
    return { kind: "failed", error: describeError(error) };
  }
  return {
    kind: "retry",
    error: describeError(error),
    retryAfterMs: error instanceof ProviderApiError ? error.retryAfterMs : null,
  };
}

async function processConnection(
  deps: ProcessorDeps,
  items: OutboundItem[],
  report: ProcessorReport,
): Promise<void> {
  const writer = deps.writerFor(items[0]);
  for (const item of items) {
    let outcome: WriteOutcome | "hold";
    try {
      outcome = await writer.apply(item);
    } catch (error) {
      outcome = classify(error);
    }
    if (outcome === "hold") {
      report.held += await deps.store.hold(
        item.connection_id!,
        "invalid_grant: reconnect the account",
      );
      return; // the rest of this connection's items were held with it
    }
    if (outcome.kind === "done") {
      await deps.store.complete(item, outcome.link, outcome.note);
      report.done++;
    } else if (outcome.kind === "retry") {
      const state = await deps.store.retry(item, outcome.error, outcome.retryAfterMs);
      if (state === "failed") report.failed++;
      else report.retried++;
    } else {
      await deps.store.fail(item, outcome.error);
      report.failed++;
    }
  }
}

export async function processOutbound(deps: ProcessorDeps): Promise<ProcessorReport> {
  const clock = deps.clock ?? systemClock;
  const started = clock.monotonic();
  const report: ProcessorReport = { claimed: 0, done: 0, retried: 0, failed: 0, held: 0 };
  const budgetMs = deps.budgetMs ?? 60_000;
  while (clock.monotonic() - started < budgetMs) {
    const items = await deps.store.claim(deps.batchSize ?? 20, deps.visibilitySeconds ?? 120);
    if (items.length === 0) {
      const dueInMs = await deps.store.nextDueInMs();
      const left = budgetMs - (clock.monotonic() - started);
      if (dueInMs === null || dueInMs > Math.min(left, 30_000)) break;
      await (deps.sleep ?? realSleep)(Math.max(10, dueInMs));
      continue;
    }
    report.claimed += items.length;
    const byConnection = new Map<string, OutboundItem[]>();
    for (const item of items) {
      const key = item.connection_id ?? `item:${item.id}`;
      byConnection.set(key, [...(byConnection.get(key) ?? []), item]);
    }
    const groups = [...byConnection.values()];
    let next = 0;
    const worker = async () => {
      while (next < groups.length) await processConnection(deps, groups[next++], report);
    };
    await Promise.all(
      Array.from({ length: Math.min(deps.concurrency ?? 4, groups.length) }, worker),
    );
  }
  return report;
}
