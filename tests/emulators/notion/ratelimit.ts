// Per-connection rate limiting: a token bucket on the emulator clock (average
// rateLimitPerSecond, capacity rateLimitBurst) plus the statistics tests assert on: how many
// requests were answered 429, and the most requests served (and attempted) within any
// 1-second window. Invariants: a request either takes one token or is refused with a
// Retry-After of at least 1 second; a rate <= 0 disables limiting but not the statistics.

interface Bucket {
  tokens: number;
  lastMs: number;
}

/** Sliding 1-second window of request instants with its high-water mark. */
class Window {
  #times: number[] = [];
  max = 0;

  add(nowMs: number): void {
    this.#times.push(nowMs);
    this.#times = this.#times.filter((t) => t > nowMs - 1000 && t <= nowMs);
    this.max = Math.max(this.max, this.#times.length);
  }
}

export class RateLimiter {
  #buckets = new Map<string, Bucket>();
  #served = new Map<string, Window>();
  #attempted = new Map<string, Window>();
  #limited = new Map<string, number>();

  /** Take a token for `key`; returns Retry-After seconds when the bucket is empty. */
  take(key: string, nowMs: number, ratePerSecond: number, burst: number): number | undefined {
    this.#window(this.#attempted, key).add(nowMs);
    if (ratePerSecond > 0) {
      const capacity = Math.max(1, burst);
      const b = this.#buckets.get(key) ?? { tokens: capacity, lastMs: nowMs };
      const elapsed = Math.max(0, nowMs - b.lastMs) / 1000;
      b.tokens = Math.min(capacity, b.tokens + elapsed * ratePerSecond);
      b.lastMs = nowMs;
      this.#buckets.set(key, b);
      if (b.tokens < 1) {
        this.#limited.set(key, (this.#limited.get(key) ?? 0) + 1);
        return Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond));
      }
      b.tokens -= 1;
    }
    this.#window(this.#served, key).add(nowMs);
    return undefined;
  }

  #window(map: Map<string, Window>, key: string): Window {
    let w = map.get(key);
    if (!w) map.set(key, w = new Window());
    return w;
  }

  limitedSnapshot(): Record<string, number> {
    return Object.fromEntries(this.#limited);
  }

  maxServedSnapshot(): Record<string, number> {
    return Object.fromEntries([...this.#served].map(([k, w]) => [k, w.max]));
  }

  maxAttemptedSnapshot(): Record<string, number> {
    return Object.fromEntries([...this.#attempted].map(([k, w]) => [k, w.max]));
  }

  /** Forget statistics (counters reset); buckets keep their level. */
  resetStats(): void {
    this.#served.clear();
    this.#attempted.clear();
    this.#limited.clear();
  }

  /** Full reset: statistics and buckets (every connection starts with a full burst). */
  reset(): void {
    this.resetStats();
    this.#buckets.clear();
  }
}
