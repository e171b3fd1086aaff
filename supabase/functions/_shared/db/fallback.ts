// A database call with a preferred way (the direct connection, db/direct_sql.ts) and a way that
// is always there (the Data API). While the preferred way is unavailable, calls take the other
// one, and the preferred way is tried again after a pause rather than on every call: a database
// that refused a connection because it has too many must not be asked again by every
// notification of a burst.
//
// Only calls that may safely run twice use this: a preferred attempt cut off after the database
// received it may have committed before the same call runs again through the fallback.
import type { Clock } from "../clock.ts";

export interface FallbackOptions {
  /** Whether an error of the preferred way says it is unavailable (else the error is thrown). */
  isUnavailable(error: unknown): boolean;
  /** After the preferred way was unavailable, how long calls take the fallback (ms). */
  pauseMs: number;
  clock: Clock;
  /** Told once each time the preferred way becomes unavailable (for the log). */
  onUnavailable?(error: unknown): void;
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
      if (!options.isUnavailable(error)) throw error;
      // Calls already under way when the first one failed fail the same way: one report.
      if (options.clock.monotonic() >= pausedUntil) options.onUnavailable?.(error);
      pausedUntil = options.clock.monotonic() + options.pauseMs;
      return fallback(...args);
    }
  };
}
