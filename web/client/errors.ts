// What went wrong, as one error class the app can switch on. Every failure of a call — no
// session, an answer of a function or of PostgREST, no answer at all — becomes a
// CalendarSyncError whose `kind` says what the user can do about it.

export type CalendarSyncErrorKind =
  /** No session, an expired one, or a token the API refused: sign the user in (again). */
  | "not_signed_in"
  /** The provider no longer accepts the connection's grant: connect the account again. */
  | "needs_reauth"
  /** Too many requests: wait `retryAfterSeconds` (when known), then try again. */
  | "rate_limited"
  /** The connection (or what it names) does not exist, or is not the user's. */
  | "not_found"
  /** The request or the user's settings were refused as they are; retrying changes nothing. */
  | "invalid_request"
  /** The account may not do this (a provider's 403, a missing privilege). */
  | "forbidden"
  /** Something changed underneath (a plan conflict): try again. */
  | "conflict"
  /** The API or the provider could not be reached or did not answer properly: try later. */
  | "unavailable"
  /** Anything else; `message` says what the server said. */
  | "unexpected";

export interface CalendarSyncErrorInit {
  kind: CalendarSyncErrorKind;
  message: string;
  /** The HTTP status, when there was an answer. */
  status?: number | null;
  /** The server's own code (`needs_reauth`, `rate_limited`, `PGRST301`, ...). */
  code?: string | null;
  retryAfterSeconds?: number | null;
  details?: unknown;
  cause?: unknown;
}

export class CalendarSyncError extends Error {
  readonly kind: CalendarSyncErrorKind;
  readonly status: number | null;
  readonly code: string | null;
  /** From Retry-After: how long to wait before trying again. */
  readonly retryAfterSeconds: number | null;
  readonly details: unknown;

  constructor(init: CalendarSyncErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "CalendarSyncError";
    this.kind = init.kind;
    this.status = init.status ?? null;
    this.code = init.code ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.details = init.details;
  }
}

export function isCalendarSyncError(error: unknown): error is CalendarSyncError {
  return error instanceof CalendarSyncError;
}

export function notSignedIn(message = "Not signed in: sign in to see your calendars."): never {
  throw new CalendarSyncError({ kind: "not_signed_in", message });
}

/** Retry-After as seconds (delta-seconds or an HTTP date); null when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * The codes that mean "go through the provider's consent again": a stored grant the provider no
 * longer honours, or a grant being connected that it rejected.
 */
const REAUTH_CODES = new Set([
  "needs_reauth",
  "invalid_refresh_token",
  "invalid_code",
  "invalid_token",
  "no_refresh_token",
]);

/** The kind an HTTP answer means, from its status and the server's code. */
export function kindOf(status: number, code: string | null): CalendarSyncErrorKind {
  if (code !== null && REAUTH_CODES.has(code)) return "needs_reauth";
  // A provider's rate limit is a 503 with Retry-After; the bundle's own limits answer 429.
  if (status === 429 || code === "provider_rate_limited") return "rate_limited";
  if (status === 401) return "not_signed_in";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409) return "conflict";
  if (status === 400 || status === 405 || status === 413 || status === 422) {
    return "invalid_request";
  }
  if (status === 502 || status === 503 || status === 504) return "unavailable";
  return "unexpected";
}

const FALLBACK_MESSAGES: Record<CalendarSyncErrorKind, string> = {
  not_signed_in: "Your session is no longer valid: sign in again.",
  needs_reauth: "The calendar provider no longer accepts this connection: connect it again.",
  rate_limited: "Too many requests: try again shortly.",
  not_found: "Not found.",
  invalid_request: "The request was refused.",
  forbidden: "Not allowed.",
  conflict: "Something changed at the same time: try again.",
  unavailable: "The service could not be reached: try again shortly.",
  unexpected: "Something went wrong.",
};

/** An answer as functions-js hands it over in `error.context` (a Response). */
function answerOf(error: unknown): Response | null {
  const context = (error as { context?: unknown } | null)?.context;
  return context instanceof Object && typeof (context as Response).status === "number" &&
      (context as Response).headers instanceof Object
    ? context as Response
    : null;
}

/**
 * An Edge Function's failure as returned by supabase-js `functions.invoke`. Recognised by shape,
 * not by class: an app may hand over a supabase-js client from its own copy of the library.
 */
export async function fromFunctionError(
  functionName: string,
  error: unknown,
): Promise<CalendarSyncError> {
  const response = answerOf(error);
  if (response) {
    let body: { error?: string; code?: string | number; message?: string; details?: unknown } = {};
    try {
      body = await response.json();
    } catch {
      // Not JSON (a proxy's page): the status alone tells.
    }
    const code = typeof body.error === "string"
      ? body.error
      : body.code !== undefined
      ? String(body.code)
      : null;
    const kind = kindOf(response.status, code);
    return new CalendarSyncError({
      kind,
      status: response.status,
      code,
      message: body.message ?? `${functionName}: ${FALLBACK_MESSAGES[kind]}`,
      retryAfterSeconds: retryAfterSeconds(response.headers.get("retry-after")),
      details: body.details,
      cause: error,
    });
  }
  if ((error as { name?: unknown } | null)?.name === "FunctionsFetchError") {
    // No answer at all (offline, DNS, a CORS refusal).
    return new CalendarSyncError({
      kind: "unavailable",
      message: `${functionName} could not be reached: check the connection and try again.`,
      cause: error,
    });
  }
  return new CalendarSyncError({
    kind: "unexpected",
    message: `${functionName}: ${error instanceof Error ? error.message : String(error)}`,
    cause: error,
  });
}

/** What postgrest-js reports as `error`. */
export interface PostgrestErrorLike {
  message: string;
  code?: string;
  details?: unknown;
}

/** A PostgREST failure (as supabase-js reports it) while reading `what`. */
export function fromPostgrestError(
  what: string,
  error: PostgrestErrorLike,
  status: number,
): CalendarSyncError {
  // No answer at all: postgrest-js reports status 0 and the fetch error's message.
  const kind = status === 0 ? "unavailable" : kindOf(status, error.code ?? null);
  return new CalendarSyncError({
    kind,
    status: status || null,
    code: error.code || null,
    message: kind === "unexpected"
      ? `Reading ${what} failed: ${error.message}`
      : `Reading ${what} failed: ${FALLBACK_MESSAGES[kind]}`,
    details: error.details,
    cause: error,
  });
}
