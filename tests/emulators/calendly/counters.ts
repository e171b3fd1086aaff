// Calendly's request counters: the shared ones (shared/counters.ts), collection items served per
// operation, and presentations of already-used refresh tokens. Reset only by the control API or
// a reset.
import { Counters as SharedCounters, sortedCounts } from "../shared/counters.ts";

export class Counters extends SharedCounters {
  #items = new Map<string, number>();
  refreshTokenReuse = 0;

  /** Collection items returned by one list response. */
  items(op: string, n: number): void {
    this.#items.set(op, (this.#items.get(op) ?? 0) + n);
  }

  /** What GET /__emulator/counters answers. */
  report() {
    return {
      counts: this.snapshot(),
      items_returned: sortedCounts(this.#items),
      max_in_flight: this.maxInFlightSnapshot(),
      refresh_token_reuse: this.refreshTokenReuse,
    };
  }

  override reset(): void {
    super.reset();
    this.#items.clear();
    this.refreshTokenReuse = 0;
  }
}
