// Capped exponential backoff with full jitter, for transient provider failures only.
//
// Every provider asks for (truncated) exponential backoff on rate limits and 5xx. Full jitter
// (delay = random() * min(cap, base * 2^n)) spreads concurrent workers apart best. `sleep` and
// `random` are injected so tests are instant and deterministic.

import { realSleep, type Sleep } from "../clock.ts";
import { isRetryableError, ProviderApiError } from "./provider_error.ts";

export type { Sleep } from "../clock.ts";
export { realSleep } from "../clock.ts";

export interface RetryInfo {
  /** 1-based number of the attempt that just failed. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface BackoffOptions {
  /** Total attempts including the first one. Default 5. */
  maxAttempts?: number;
  /** Cap of the first retry's jitter window. Default 500 ms. */
  baseDelayMs?: number;
  /** Upper bound of any single wait. Default 30 000 ms. */
  maxDelayMs?: number;
  sleep?: Sleep;
  /** Returns a number in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Default: `isRetryableError` (rate_limited, server, network). */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait; handy for logging and tests. */
  onRetry?: (info: RetryInfo) => void;
}

export const DEFAULT_BACKOFF = { maxAttempts: 5, baseDelayMs: 500, maxDelayMs: 30_000 } as const;

/** Full-jitter delay for the retry after failed attempt `attempt` (1-based). */
export function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const window = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(Math.min(Math.max(random(), 0), 1) * window);
}

/**
 * Runs `fn` until it succeeds, a non-retryable error is thrown, or `maxAttempts` is reached; the
 * last error is rethrown unchanged.
 *
 * A `retryAfterMs` on the error (from `Retry-After`) is a floor for the wait. If Google asks for
 * longer than `maxDelayMs`, we stop and rethrow instead of blocking an Edge Function for minutes;
 * the error still carries `retryAfterMs` so the caller can reschedule.
 */
export async function withBackoff<T>(
  fn: (attempt: number) => Promise<T>,
  options: BackoffOptions = {},
): Promise<T> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts);
  const baseDelayMs = options.baseDelayMs ?? DEFAULT_BACKOFF.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const shouldRetry = options.shouldRetry ?? ((e: unknown) => isRetryableError(e));

  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !shouldRetry(error, attempt)) throw error;
      const retryAfterMs = error instanceof ProviderApiError ? error.retryAfterMs : null;
      if (retryAfterMs !== null && retryAfterMs > maxDelayMs) throw error;
      const delayMs = Math.max(
        backoffDelay(attempt, baseDelayMs, maxDelayMs, random),
        retryAfterMs ?? 0,
      );
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs);
    }
  }
}
