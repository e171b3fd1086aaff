// Request counters for tests and benchmarks: requests per operation (faulted and rejected ones
// included), collection items served per operation, the most concurrent requests per operation,
// and presentations of already-used refresh tokens. Reset only by the control API or a reset.

export class Counters {
  #counts = new Map<string, number>();
  #items = new Map<string, number>();
  #inFlight = new Map<string, number>();
  #maxInFlight = new Map<string, number>();
  refreshTokenReuse = 0;

  inc(op: string): void {
    this.#counts.set(op, (this.#counts.get(op) ?? 0) + 1);
  }

  /** Collection items returned by one list response. */
  items(op: string, n: number): void {
    this.#items.set(op, (this.#items.get(op) ?? 0) + n);
  }

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

  snapshot() {
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
    return {
      counts: sorted(this.#counts),
      items_returned: sorted(this.#items),
      max_in_flight: sorted(this.#maxInFlight),
      refresh_token_reuse: this.refreshTokenReuse,
    };
  }

  reset(): void {
    this.#counts.clear();
    this.#items.clear();
    this.#maxInFlight.clear();
    this.refreshTokenReuse = 0;
  }
}
