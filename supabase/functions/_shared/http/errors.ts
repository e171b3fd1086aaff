// What went wrong, as an HTTP answer. Handlers and jobs throw; this module maps every error
// class the bundle knows to a status and a message that tells the caller what to do:
//   HttpError             as thrown (the handler already decided);
//   ConfigError / a provider rejecting our OAuth client   → 500 misconfigured (operator);
//   DbError P0002         → 404 with the SQL function's reason (user_not_found, ...);
//   DbError 22023         → 400 (a value the database refused);
//   provider errors       → reauth 409, not found 404, forbidden 403, rate limited 503 with
//                           Retry-After, unavailable 502.
// Anything else is a 500 that is logged with the function's name.
import { ConfigError } from "../config.ts";
import { DbError } from "../db/client.ts";
import { ProviderApiError } from "../net/provider_error.ts";

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

const PROVIDER_NAMES: Record<string, string> = {
  google: "Google Calendar",
  calendly: "Calendly",
  notion: "Notion",
};

function providerAnswer(error: ProviderApiError): HttpError {
  const name = PROVIDER_NAMES[error.provider] ?? "The calendar provider";
  switch (error.kind) {
    case "reauth_required":
      return new HttpError(
        409,
        "needs_reauth",
        `${name} no longer accepts this connection's authorisation: connect the account again.`,
      );
    case "config":
      return new HttpError(
        500,
        "misconfigured",
        `${name} rejected this project's OAuth client: check its client id and secret.`,
      );
    case "not_found":
      return new HttpError(
        404,
        "not_found",
        `${name} says the calendar or item does not exist, or the account cannot see it.`,
      );
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 60_000) / 1000));
      return new HttpError(
        503,
        "provider_rate_limited",
        `${name} is rate limiting this project; try again in ${seconds} s.`,
        undefined,
        { "retry-after": String(seconds) },
      );
    }
    case "server":
    case "network":
      return new HttpError(
        502,
        "provider_unavailable",
        `${name} did not answer properly; try again shortly.`,
      );
    default:
      if (error.status === 403) {
        return new HttpError(
          403,
          "provider_forbidden",
          `${name} refused: the account may not access this calendar (${error.reason ?? "403"}).`,
        );
      }
      return new HttpError(
        502,
        "provider_error",
        `${name} refused the request${error.reason ? ` (${error.reason})` : ""}.`,
      );
  }
}

/** The answer for any error; null when it is unexpected (a 500 to be logged). */
export function toHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (error instanceof ConfigError) {
    return new HttpError(500, "misconfigured", error.message);
  }
  if (error instanceof ProviderApiError) return providerAnswer(error);
  if (error instanceof DbError) {
    if (error.code === "P0002") {
      return new HttpError(404, error.hint ?? "not_found", error.message.replace(/^.*?: /, ""));
    }
    if (error.code === "22023") {
      return new HttpError(400, "invalid_request", error.message.replace(/^.*?: /, ""));
    }
  }
  return null;
}
