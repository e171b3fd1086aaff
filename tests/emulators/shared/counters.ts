// Request counters every emulator keeps for tests and benchmarks: requests per operation
// (faulted and rejected ones included) and the most concurrent requests per operation (a high
// water mark above 1 shows callers overlapping). An emulator adds what only it counts.

/** A counter map as a plain object, sorted by key. */
export function sortedCounts(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
}

export class Counters {
  #counts = new Map<string, number>();
  #inFlight = new Map<string, number>();
  #maxInFlight = new Map<string, number>();

  inc(op: string): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
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

  /** Requests per operation, sorted by operation. */
  snapshot(): Record<string, number> {
    return sortedCounts(this.#counts);
  }

  maxInFlightSnapshot(): Record<string, number> {
    return sortedCounts(this.#maxInFlight);
  }

  reset(): void {
    this.#counts.clear();
    this.#maxInFlight.clear();
  }
}
