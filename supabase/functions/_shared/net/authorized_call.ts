// One logical call to a provider API with a bearer token, the same for every provider:
// take a token, send, on 401 refresh once and resend once, and back off on transient failures
// (each backoff attempt repeats only this request). Token-endpoint failures happen before
// anything reaches the API, so they are always safe to retry by the default rule, even for
// non-idempotent calls (an insert without a client id).
import type { TokenSource } from "../sync/token_source.ts";
import { isRetryableError, ProviderApiError } from "./provider_error.ts";
import { type BackoffOptions, withBackoff } from "./retry.ts";

export interface AuthorizedCallOptions {
  backoff?: Omit<BackoffOptions, "shouldRetry">;
  /** Which API failures may be repeated (default: the classified `retryable`). */
  shouldRetry?: (error: unknown) => boolean;
  /** Called when a 401 led to a forced refresh and one more attempt. */
  onUnauthorizedRetry?: () => void;
}

export function authorizedCall<T>(
  tokens: TokenSource,
  send: (accessToken: string) => Promise<T>,
  options: AuthorizedCallOptions = {},
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetryableError;
  const tokenErrors = new WeakSet<object>();
  const tagged = async <R>(promise: Promise<R>): Promise<R> => {
    try {
      return await promise;
    } catch (error) {
      if (error && typeof error === "object") tokenErrors.add(error);
      throw error;
    }
  };
  let refreshedAfter401 = false;
  return withBackoff(async () => {
    const token = await tagged(tokens.token());
    try {
      return await send(token);
    } catch (error) {
      if (
        !(error instanceof ProviderApiError) || error.kind !== "unauthorized" || refreshedAfter401
      ) {
        throw error;
      }
      refreshedAfter401 = true;
      options.onUnauthorizedRetry?.();
      const fresh = await tagged(tokens.refreshAfterRejection(token));
      return await send(fresh);
    }
  }, {
    ...options.backoff,
    shouldRetry: (error) =>
      error && typeof error === "object" && tokenErrors.has(error)
        ? isRetryableError(error)
        : shouldRetry(error),
  });
}
