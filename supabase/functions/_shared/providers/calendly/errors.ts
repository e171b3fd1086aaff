// Calendly's HTTP failures classified into the shared provider error kinds. Calendly answers
// `{title, message, details?}`; a rate limit is 429 with X-RateLimit-Reset (seconds until the
// window resets), which becomes the wait before the retry.
import {
  parseRetryAfter,
  ProviderApiError,
  type ProviderErrorKind,
} from "../../net/provider_error.ts";

export function classifyCalendlyError(
  status: number,
  body: unknown,
  headers: Headers,
): ProviderApiError {
  const object = body && typeof body === "object" ? body as Record<string, unknown> : {};
  const title = typeof object.title === "string" ? object.title : null;
  const message = typeof object.message === "string" ? object.message : null;
  const kind: ProviderErrorKind = status === 401
    ? "unauthorized"
    : status === 429
    ? "rate_limited"
    : status === 404
    ? "not_found"
    : status === 408 || status >= 500
    ? "server"
    : "permanent";
  const reset = headers.get("x-ratelimit-reset") ?? headers.get("retry-after");
  return new ProviderApiError({
    provider: "calendly",
    kind,
    status,
    reason: status === 409 ? "already_exists" : title,
    message: `Calendly HTTP ${status}${title ? ` ${title}` : ""}${message ? `: ${message}` : ""}`,
    retryAfterMs: parseRetryAfter(reset),
    body,
  });
}
