// A database call with a preferred way (the direct connection, db/direct_sql.ts) and a way that
// is always there (the Data API). The preferred way is only an optimisation, so whatever makes
// it fail, the call is made the other way, and calls keep taking that way for a pause before
// the preferred one is tried again: a database that refused a connection because it has too
// many must not be asked again by every notification of a burst. A failure of the fallback is
// the call's failure.
//
// Only calls that may safely run twice use this: a preferred attempt cut off after the database
// received it may have committed before the same call runs again through the fallback.
import type { Clock } from "../clock.ts";

export interface FallbackOptions {
  /** After the preferred way failed, how long calls take the fallback (ms). */
  pauseMs: number;
  clock: Clock;
  /** Told once each time the preferred way fails (for the log). */
  onPreferredFailed?(error: unknown): void;
}

export function withFallback<A extends unknown[], R>(
  preferred: (...args: A) => Promise<R>,
  fallback: (...args: A) => Promise<R>,
  options: FallbackOptions,
): (...args: A) => Promise<R> {
  let pausedUntil = -Infinity;
  return async (...args) => {
    if (options.clock.monotonic() < pausedUntil) return fallback(...args);
    try {
      return await preferred(...args);
    } catch (error) {
      // Calls already under way when the first one failed fail the same way: one report.
      if (options.clock.monotonic() >= pausedUntil) options.onPreferredFailed?.(error);
      pausedUntil = options.clock.monotonic() + options.pauseMs;
      return fallback(...args);
    }
  };
}
