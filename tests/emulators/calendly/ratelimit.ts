// Fixed-window request counters keyed by user (API requests per minute, OAuth token grants per
// minute). A window opens at a key's first request and lasts `windowMs` of emulator time.
// Invariant: a rejected request never consumes from the window.

export interface RateState {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Whole seconds until the current window ends (what X-RateLimit-Reset carries). */
  resetSeconds: number;
}

export class RateLimiter {
  #windows = new Map<string, { startMs: number; count: number }>();

  #window(key: string, nowMs: number, windowMs: number) {
    const w = this.#windows.get(key);
    if (w && nowMs >= w.startMs && nowMs < w.startMs + windowMs) return w;
    const fresh = { startMs: nowMs, count: 0 };
    this.#windows.set(key, fresh);
    return fresh;
  }

  #state(
    w: { startMs: number; count: number },
    limit: number,
    nowMs: number,
    windowMs: number,
  ): Omit<RateState, "allowed"> {
    return {
      limit,
      remaining: Math.max(0, limit - w.count),
      resetSeconds: Math.max(0, Math.ceil((w.startMs + windowMs - nowMs) / 1000)),
    };
  }

  /** Count one request if the window has room. */
  consume(key: string, limit: number, nowMs: number, windowMs: number): RateState {
    const w = this.#window(key, nowMs, windowMs);
    if (w.count >= limit) return { allowed: false, ...this.#state(w, limit, nowMs, windowMs) };
    w.count++;
    return { allowed: true, ...this.#state(w, limit, nowMs, windowMs) };
  }

  /** The current state without counting anything. */
  peek(key: string, limit: number, nowMs: number, windowMs: number): RateState {
    const w = this.#windows.get(key);
    if (!w || nowMs < w.startMs || nowMs >= w.startMs + windowMs) {
      return { allowed: true, limit, remaining: limit, resetSeconds: Math.ceil(windowMs / 1000) };
    }
    return { allowed: w.count < limit, ...this.#state(w, limit, nowMs, windowMs) };
  }

  reset(): void {
    this.#windows.clear();
  }
}

export function rateHeaders(s: Omit<RateState, "allowed">): Record<string, string> {
  return {
    "x-ratelimit-limit": String(s.limit),
    "x-ratelimit-remaining": String(s.remaining),
    "x-ratelimit-reset": String(s.resetSeconds),
  };
}
