// Request counters every emulator keeps for tests and benchmarks: requests per operation
// (faulted and rejected ones included) and the most concurrent requests per operation (a high
// water mark above 1 shows callers overlapping). An emulator adds what only it counts.

/** A counter map as a plain object, sorted by key. */
export function sortedCounts(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}

export class Counters {
  #counts = new Map<string, number>();
  /** Per scope (e.g. a calendar id): requests per operation. */
  #scoped = new Map<string, Map<string, number>>();
  #inFlight = new Map<string, number>();
  #maxInFlight = new Map<string, number>();

  /** Counts one request of `op`, and also under `scope` when the request names one. */
  inc(op: string, scope?: string): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
    if (scope === undefined) return;
    let counts = this.#scoped.get(scope);
    if (!counts) this.#scoped.set(scope, counts = new Map());
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }

  /** Marks a request as being served. */
  enter(op: string): void {
    const now = (this.#inFlight.get(op) ?? 0) + 1;
    this.#inFlight.set(op, now);
    this.#maxInFlight.set(op, Math.max(now, this.#maxInFlight.get(op) ?? 0));
  }

  leave(op: string): void {
    this.#inFlight.set(op, Math.max(0, (this.#inFlight.get(op) ?? 1) - 1));
  }

  get(op: string): number {
    return this.#counts.get(op) ?? 0;
  }

  /** Requests per operation, sorted by operation; only those under `scope` when given. */
  snapshot(scope?: string): Record<string, number> {
    if (scope === undefined) return sortedCounts(this.#counts);
    return sortedCounts(this.#scoped.get(scope) ?? new Map());
  }

  maxInFlightSnapshot(): Record<string, number> {
    return sortedCounts(this.#maxInFlight);
  }

  reset(): void {
    this.#counts.clear();
    this.#scoped.clear();
    this.#maxInFlight.clear();
  }
}
