// Notion's HTTP failures classified into the shared provider error kinds, once. Notion answers
// `{object: "error", status, code, message}`:
//   401 unauthorized                      → unauthorized (refresh once, then re-auth);
//   429 rate_limited, 529 service_overload → rate_limited, waiting at least Retry-After (seconds);
//   500/502/503/504, 408                  → server (backoff and retry);
//   404 object_not_found                  → not_found (missing, or not shared with the integration);
//   400 validation_error / invalid_request, 403 restricted_resource, 409 conflict_error, others
//                                         → permanent (never retried).
// Invariants: the reason is Notion's `code`; the message names the status and code and never
// carries request data.
import {
  errorBodyField,
  kindForStatus,
  parseRetryAfter,
  ProviderApiError,
  type ProviderErrorKind,
} from "../../net/provider_error.ts";

export function classifyNotionError(
  status: number,
  body: unknown,
  headers: Headers,
  nowMs: number = Date.now(),
): ProviderApiError {
  const code = errorBodyField(body, "code");
  const message = errorBodyField(body, "message");
  const kind: ProviderErrorKind =
    status === 529 || code === "rate_limited" || code === "service_overload"
      ? "rate_limited"
      : kindForStatus(status);
  return new ProviderApiError({
    provider: "notion",
    kind,
    status,
    reason: code,
    message: `Notion HTTP ${status}${code ? ` ${code}` : ""}${message ? `: ${message}` : ""}`,
    retryAfterMs: parseRetryAfter(headers.get("retry-after"), nowMs),
    body,
  });
}
