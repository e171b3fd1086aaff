// Google's HTTP failures (Calendar API and OAuth token endpoint) classified into the shared
// provider error kinds. Callers must never branch on raw status codes: Google overloads 403
// (rate limits vs. real permission problems) and 410 (benign "deleted" vs. "wipe and resync"),
// so the decision is made here from the status plus `error.errors[0].reason`, and everything
// else reads `kind`/`retryable`.

import { GaxiosError } from "googleapis-common";
import {
  isRetryableError as isRetryableProviderError,
  looksLikeNetworkError,
  parseRetryAfter,
  ProviderApiError,
  type ProviderApiErrorInit,
  ProviderConfigError,
  ReauthRequiredError,
} from "../../net/provider_error.ts";

export { parseRetryAfter, ReauthRequiredError } from "../../net/provider_error.ts";
export type { ProviderErrorKind as GoogleErrorKind } from "../../net/provider_error.ts";

export type GoogleApiErrorInit = Omit<ProviderApiErrorInit, "provider">;

export class GoogleApiError extends ProviderApiError {
  constructor(init: GoogleApiErrorInit) {
    super({ ...init, provider: "google" });
    this.name = "GoogleApiError";
  }
}

/** Google rejected the OAuth client, or an endpoint is misconfigured. */
export class GoogleConfigError extends ProviderConfigError {
  constructor(message: string, init: Partial<Omit<GoogleApiErrorInit, "kind" | "message">> = {}) {
    super(message, { ...init, provider: "google" });
    this.name = "GoogleConfigError";
  }
}

/** Builds the right class for a kind, so `instanceof ReauthRequiredError` always works. */
export function makeGoogleError(init: GoogleApiErrorInit): ProviderApiError {
  if (init.kind === "reauth_required") {
    return new ReauthRequiredError({ ...init, provider: "google" });
  }
  if (init.kind === "config") return new GoogleConfigError(init.message, init);
  return new GoogleApiError(init);
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | null | undefined;

function headerValue(headers: HeaderSource, name: string): string | null {
  if (!headers) return null;
  if (headers instanceof Headers) return headers.get(name);
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && value !== undefined) {
      return Array.isArray(value) ? value[0] ?? null : value;
    }
  }
  return null;
}

interface ParsedBody {
  /** Google API errors: `error.errors[0].reason`. */
  apiReason: string | null;
  /** OAuth errors (RFC 6749 §5.2): string `error`. */
  oauthError: string | null;
  message: string | null;
  parsed: unknown;
}

/** Accepts whatever arrived (object, JSON text, HTML, empty) and never throws. */
function parseBody(body: unknown): ParsedBody {
  let parsed = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = body;
    }
  }
  const out: ParsedBody = { apiReason: null, oauthError: null, message: null, parsed };
  if (typeof parsed === "string") {
    out.message = parsed.trim().slice(0, 200) || null;
    return out;
  }
  if (!parsed || typeof parsed !== "object") return out;
  const error = (parsed as Record<string, unknown>).error;
  if (typeof error === "string") {
    out.oauthError = error;
    const description = (parsed as Record<string, unknown>).error_description;
    out.message = typeof description === "string" ? description : error;
  } else if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    if (typeof e.message === "string") out.message = e.message;
    if (Array.isArray(e.errors)) {
      const first = e.errors[0];
      if (first && typeof first === "object") {
        const reason = (first as Record<string, unknown>).reason;
        if (typeof reason === "string") out.apiReason = reason;
        const msg = (first as Record<string, unknown>).message;
        if (!out.message && typeof msg === "string") out.message = msg;
      }
    }
    // AIP-193 style bodies carry `status: "UNAUTHENTICATED"` etc. and `details[].reason`; use the
    // detail reason only when the classic `errors[]` array is absent.
    if (!out.apiReason && Array.isArray(e.details)) {
      for (const d of e.details) {
        const r = d && typeof d === "object" ? (d as Record<string, unknown>).reason : undefined;
        if (typeof r === "string") {
          out.apiReason = r;
          break;
        }
      }
    }
  }
  return out;
}

const RATE_LIMIT_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded"]);
const FULL_SYNC_REASONS = new Set(["fullSyncRequired", "updatedMinTooLongAgo"]);
// RFC 6749 §5.2 codes that mean "the client registration is wrong", not "the user must re-consent".
const OAUTH_CONFIG_ERRORS = new Set(["invalid_client", "unauthorized_client"]);

function kindFor(status: number, apiReason: string | null, oauthError: string | null) {
  // Token-endpoint bodies ({"error": "invalid_grant"}) are recognised wherever they appear.
  if (oauthError === "invalid_grant") return "reauth_required" as const;
  if (oauthError && OAUTH_CONFIG_ERRORS.has(oauthError)) return "config" as const;
  if (status === 429) return "rate_limited" as const;
  if (status === 401) return "unauthorized" as const;
  if (status === 403) {
    // quotaExceeded is Calendar's *usage limit* (abuse protection measured in hours/days, e.g.
    // too many invitations). Seconds of backoff cannot help and hammering makes it worse, so it
    // is permanent for this run; the caller sees reason "quotaExceeded" and retries much later.
    return apiReason && RATE_LIMIT_REASONS.has(apiReason)
      ? "rate_limited" as const
      : "permanent" as const;
  }
  if (status === 404) return "not_found" as const;
  if (status === 412) return "precondition_failed" as const;
  if (status === 410) {
    return apiReason && FULL_SYNC_REASONS.has(apiReason)
      ? "full_sync_required" as const
      : "gone" as const;
  }
  // 408 is a transport-level timeout; treat it like the 5xx family Google says to retry.
  if (status === 408 || status === 500 || status === 502 || status === 503 || status === 504) {
    return "server" as const;
  }
  return "permanent" as const;
}

/**
 * Classifies a failed Google response (Calendar API or OAuth token endpoint) by HTTP status and
 * `error.errors[0].reason` (or the OAuth `error` code). Tolerates missing/extra fields and
 * non-JSON bodies; never throws.
 */
export function classifyGoogleError(
  status: number,
  body: unknown,
  headers?: HeaderSource,
  nowMs: number = Date.now(),
): ProviderApiError {
  const { apiReason, oauthError, message, parsed } = parseBody(body);
  const kind = kindFor(status, apiReason, oauthError);
  const reason = oauthError ?? apiReason;
  return makeGoogleError({
    kind,
    status,
    reason,
    message: `Google HTTP ${status}${reason ? ` ${reason}` : ""}${message ? `: ${message}` : ""}`,
    retryAfterMs: parseRetryAfter(headerValue(headers, "retry-after"), nowMs),
    body: parsed,
  });
}

/**
 * Converts anything thrown by gaxios / google-auth-library / fetch into a `GoogleApiError`.
 *
 * Deliberately keeps no reference to the original GaxiosError: its `config` holds the request
 * body (for the token endpoint that includes the refresh token, which gaxios' redactor does not
 * hide), and errors end up in logs.
 */
export function toGoogleApiError(e: unknown, nowMs: number = Date.now()): ProviderApiError {
  if (e instanceof ProviderApiError) return e;
  if (e instanceof GaxiosError) {
    if (e.response) {
      return classifyGoogleError(e.response.status, e.response.data, e.response.headers, nowMs);
    }
    const cause = (e as { cause?: unknown }).cause;
    const timeout = e.code === "TimeoutError" || (cause instanceof DOMException &&
      cause.name === "TimeoutError");
    return new GoogleApiError({
      kind: "network",
      status: null,
      reason: timeout ? "timeout" : (typeof e.code === "string" ? e.code : null),
      message: `Google request failed without a response: ${e.message}`,
    });
  }
  if (looksLikeNetworkError(e)) {
    return new GoogleApiError({
      kind: "network",
      status: null,
      reason: e instanceof DOMException ? "timeout" : null,
      message: `Google request failed without a response: ${(e as Error).message}`,
    });
  }
  return new GoogleApiError({
    kind: "permanent",
    status: null,
    reason: "client_error",
    message: e instanceof Error ? e.message : String(e),
  });
}

/** Retry predicate for Google calls: classified errors say so; raw gaxios/fetch failures too. */
export function isRetryableError(e: unknown): boolean {
  if (e instanceof GaxiosError) return toGoogleApiError(e).retryable;
  return isRetryableProviderError(e);
}
