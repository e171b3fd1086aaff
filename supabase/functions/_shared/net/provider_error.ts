// One typed error for every provider's HTTP failures, with the decision already attached.
//
// Each provider classifies its own wire errors (Google overloads 403 and 410, Calendly says 429
// with X-RateLimit-Reset, Notion says 529) into these kinds once, in its `errors.ts`; everything
// else (backoff, the sync runner, token refresh, the HTTP answers) reads `kind` and never a raw
// status code.

export type ProviderErrorKind =
  /** 401 from an API call: refresh the access token once and retry once. */
  | "unauthorized"
  /** OAuth `invalid_grant`: the refresh token is dead; the connection needs re-authorisation. */
  | "reauth_required"
  /** OAuth `invalid_client`/`unauthorized_client`: the operator's client is wrong; never retried. */
  | "config"
  /** Rate limits (429; Google's 403 rate reasons; Notion's 529): back off and retry. */
  | "rate_limited"
  /** 500/502/503/504 (and 408): transient, back off and retry. */
  | "server"
  /** No HTTP response at all (DNS, connection reset, timeout): transient, back off and retry. */
  | "network"
  /** The cursor is no longer valid (Google 410 fullSyncRequired): run a full sync. */
  | "full_sync_required"
  /** The resource is already gone (Google 410 deleted): benign for deletes. */
  | "gone"
  /** 404. */
  | "not_found"
  /** A precondition failed (412 If-Match): re-read and re-apply. */
  | "precondition_failed"
  /** Everything else (400, 403 forbidden, 409, ...): do not retry. */
  | "permanent";

export interface ProviderApiErrorInit {
  /** google | calendly | notion. */
  provider?: string;
  kind: ProviderErrorKind;
  /** HTTP status, or null when no response was received. */
  status: number | null;
  reason?: string | null;
  message: string;
  retryAfterMs?: number | null;
  /** Parsed response body (JSON object or text), kept for logging; never request data. */
  body?: unknown;
}

const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set<ProviderErrorKind>([
  "rate_limited",
  "server",
  "network",
]);

export class ProviderApiError extends Error {
  readonly provider: string;
  readonly kind: ProviderErrorKind;
  readonly status: number | null;
  /** The provider's own reason code (`error.errors[0].reason`, the OAuth `error`, ...). */
  readonly reason: string | null;
  /** Whether waiting and repeating the same request may succeed. */
  readonly retryable: boolean;
  /** From `Retry-After` / `X-RateLimit-Reset`, if the provider sent one. */
  readonly retryAfterMs: number | null;
  readonly body: unknown;

  constructor(init: ProviderApiErrorInit) {
    super(init.message);
    this.name = "ProviderApiError";
    this.provider = init.provider ?? "provider";
    this.kind = init.kind;
    this.status = init.status;
    this.reason = init.reason ?? null;
    this.retryable = RETRYABLE_KINDS.has(init.kind);
    this.retryAfterMs = init.retryAfterMs ?? null;
    this.body = init.body;
  }
}

/** The refresh token (or authorization code) is invalid, revoked or expired: re-consent. */
export class ReauthRequiredError extends ProviderApiError {
  constructor(init: Omit<ProviderApiErrorInit, "kind">) {
    super({ ...init, kind: "reauth_required" });
    this.name = "ReauthRequiredError";
  }
}

/** The provider rejected the operator's OAuth client (or an endpoint is wrong). */
export class ProviderConfigError extends ProviderApiError {
  constructor(
    message: string,
    init: Partial<Omit<ProviderApiErrorInit, "kind" | "message">> = {},
  ) {
    super({ status: null, ...init, message, kind: "config" });
    this.name = "ProviderConfigError";
  }
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

/** Network-level failures raised by fetch or a timeout signal. */
export function looksLikeNetworkError(e: unknown): boolean {
  if (e instanceof TypeError) return true; // Deno fetch: "error sending request ..."
  if (e instanceof DOMException) return e.name === "TimeoutError";
  if (e instanceof Deno.errors.ConnectionRefused || e instanceof Deno.errors.ConnectionReset) {
    return true;
  }
  return e instanceof Deno.errors.TimedOut || e instanceof Deno.errors.Interrupted;
}

/** Retry predicate: classified errors say so; raw fetch failures retry. */
export function isRetryableError(e: unknown): boolean {
  if (e instanceof ProviderApiError) return e.retryable;
  return looksLikeNetworkError(e);
}

/** A short, log- and user-safe description of any failure. */
export function describeError(error: unknown): string {
  if (error instanceof ProviderApiError) {
    return `${error.kind}${error.reason ? ` (${error.reason})` : ""}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The kind an HTTP status means when a provider says nothing more specific. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 401) return "unauthorized";
  if (status === 429) return "rate_limited";
  if (status === 404) return "not_found";
  if (status === 408 || status >= 500) return "server";
  return "permanent";
}

/** A string field of a JSON error body, if there is one. */
export function errorBodyField(body: unknown, field: string): string | null {
  const value = body && typeof body === "object" ? (body as Record<string, unknown>)[field] : null;
  return typeof value === "string" ? value : null;
}
