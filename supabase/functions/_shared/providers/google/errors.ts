// One place that turns Google's HTTP failures into a typed error with a decision attached.
//
// Callers must never branch on raw status codes: Google overloads 403 (rate limits vs. real
// permission problems) and 410 (benign "deleted" vs. "wipe and resync"), so the decision is made
// here from the status plus `error.errors[0].reason`, and everything else reads `kind`/`retryable`.

import { GaxiosError } from "googleapis-common";

export type GoogleErrorKind =
  /** 401 from an API call: refresh the access token once and retry once. */
  | "unauthorized"
  /** OAuth `invalid_grant`: the refresh token is dead; mark the connection `needs_reauth`. */
  | "reauth_required"
  /** OAuth `invalid_client`/`unauthorized_client` or bad env: operator problem, never retried. */
  | "config"
  /** 429, or 403 `rateLimitExceeded`/`userRateLimitExceeded`: back off and retry. */
  | "rate_limited"
  /** 500/502/503/504 (and 408): transient, back off and retry. */
  | "server"
  /** No HTTP response at all (DNS, connection reset, timeout): transient, back off and retry. */
  | "network"
  /** 410 `fullSyncRequired`/`updatedMinTooLongAgo`: wipe the mirror and run a full sync. */
  | "full_sync_required"
  /** 410 `deleted` (or any other 410): the resource is already gone; benign for deletes. */
  | "gone"
  /** 404. */
  | "not_found"
  /** Everything else (400, 403 forbidden/quotaExceeded, 409, 412, ...): do not retry. */
  | "permanent";

export interface GoogleApiErrorInit {
  kind: GoogleErrorKind;
  status: number | null;
  reason?: string | null;
  message: string;
  retryAfterMs?: number | null;
  /** Parsed response body (JSON object or text), kept for logging; never request data. */
  body?: unknown;
}

const RETRYABLE_KINDS: ReadonlySet<GoogleErrorKind> = new Set<GoogleErrorKind>([
  "rate_limited",
  "server",
  "network",
]);

export class GoogleApiError extends Error {
  readonly kind: GoogleErrorKind;
  /** HTTP status, or null when no response was received. */
  readonly status: number | null;
  /** `error.errors[0].reason` for API errors, the OAuth `error` code for token errors. */
  readonly reason: string | null;
  /** Whether waiting and repeating the same request may succeed. */
  readonly retryable: boolean;
  /** From a `Retry-After` header, if Google sent one. */
  readonly retryAfterMs: number | null;
  readonly body: unknown;

  constructor(init: GoogleApiErrorInit) {
    super(init.message);
    this.name = "GoogleApiError";
    this.kind = init.kind;
    this.status = init.status;
    this.reason = init.reason ?? null;
    this.retryable = RETRYABLE_KINDS.has(init.kind);
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.body = init.body;
  }
}

/** The refresh token (or authorization code) is invalid/revoked/expired: the user must re-consent. */
export class ReauthRequiredError extends GoogleApiError {
  constructor(init: Omit<GoogleApiErrorInit, "kind">) {
    super({ ...init, kind: "reauth_required" });
    this.name = "ReauthRequiredError";
  }
}

/** Client id/secret or endpoint configuration is wrong. Fixing it needs an operator. */
export class GoogleConfigError extends GoogleApiError {
  constructor(message: string, init: Partial<Omit<GoogleApiErrorInit, "kind" | "message">> = {}) {
    super({ status: null, ...init, message, kind: "config" });
    this.name = "GoogleConfigError";
  }
}

/** Builds the right subclass for a kind, so `instanceof ReauthRequiredError` always works. */
export function makeGoogleError(init: GoogleApiErrorInit): GoogleApiError {
  if (init.kind === "reauth_required") return new ReauthRequiredError(init);
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

/** `Retry-After` is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - nowMs);
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
): GoogleApiError {
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

/** Network-level failures raised by fetch or by gaxios' timeout (`AbortSignal.timeout`). */
function looksLikeNetworkError(e: unknown): boolean {
  if (e instanceof TypeError) return true; // Deno fetch: "error sending request ..."
  if (e instanceof DOMException) return e.name === "TimeoutError";
  if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  return e instanceof Deno.errors.TimedOut || e instanceof Deno.errors.Interrupted;
}

/**
 * Converts anything thrown by gaxios / google-auth-library / fetch into a `GoogleApiError`.
 *
 * Deliberately keeps no reference to the original GaxiosError: its `config` holds the request
 * body (for the token endpoint that includes the refresh token, which gaxios' redactor does not
 * hide), and errors end up in logs.
 */
export function toGoogleApiError(e: unknown, nowMs: number = Date.now()): GoogleApiError {
  if (e instanceof GoogleApiError) return e;
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

/** Retry predicate shared by `withBackoff`: classified errors say so; raw fetch failures retry. */
export function isRetryableError(e: unknown): boolean {
  if (e instanceof GoogleApiError) return e.retryable;
  if (e instanceof GaxiosError) return toGoogleApiError(e).retryable;
  return looksLikeNetworkError(e);
}
