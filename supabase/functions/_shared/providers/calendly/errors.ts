// Calendly's HTTP failures classified into the shared provider error kinds. Calendly answers
// `{title, message, details?}`; a rate limit is 429 with X-RateLimit-Reset (seconds until the
// window resets), which becomes the wait before the retry.
import {
  errorBodyField,
  kindForStatus,
  parseRetryAfter,
  ProviderApiError,
} from "../../net/provider_error.ts";

export function classifyCalendlyError(
  status: number,
  body: unknown,
  headers: Headers,
): ProviderApiError {
  const title = errorBodyField(body, "title");
  const message = errorBodyField(body, "message");
  const reset = headers.get("x-ratelimit-reset") ?? headers.get("retry-after");
  return new ProviderApiError({
    provider: "calendly",
    kind: kindForStatus(status),
    status,
    reason: status === 409 ? "already_exists" : title,
    message: `Calendly HTTP ${status}${title ? ` ${title}` : ""}${message ? `: ${message}` : ""}`,
    retryAfterMs: parseRetryAfter(reset),
    body,
  });
}
