// Error bodies. The API host answers `{"title","message","details"?:[{parameter,message,code?}]}`
// (Calendly's error object); the OAuth endpoints answer RFC 6749 `{"error","error_description"}`
// with Doorkeeper's wording, which is what auth.calendly.com returns.

import { json } from "./util.ts";

export interface ErrorDetail {
  parameter: string;
  message: string;
  code?: string;
}

/** Default title/message per status, used by helpers below and by fault rules. */
const DEFAULTS: Record<number, { title: string; message: string }> = {
  400: { title: "Invalid Argument", message: "The supplied parameters are invalid." },
  401: { title: "Unauthenticated", message: "The access token is invalid" },
  403: {
    title: "Permission Denied",
    message: "You do not have permission to access this resource.",
  },
  404: {
    title: "Resource Not Found",
    message: "The server could not find the requested resource.",
  },
  409: { title: "Already Exists", message: "The resource already exists." },
  424: { title: "External Calendar Error", message: "There is a problem with the calendar." },
  429: {
    title: "Too Many Requests",
    message: "You have exceeded the rate limit. Please try again later.",
  },
  500: {
    title: "Internal Server Error",
    message:
      "The server encountered an unexpected condition that prevented it from fulfilling the request.",
  },
  502: { title: "Bad Gateway", message: "The server received an invalid response." },
  503: { title: "Service Unavailable", message: "The server is temporarily unavailable." },
  504: { title: "Gateway Timeout", message: "The server did not answer in time." },
};

export function defaultTitle(status: number): string {
  return DEFAULTS[status]?.title ?? (status >= 500 ? "Internal Server Error" : "Error");
}

export function defaultMessage(status: number): string {
  return DEFAULTS[status]?.message ?? "Injected fault";
}

export function apiError(
  status: number,
  title = defaultTitle(status),
  message = defaultMessage(status),
  details?: ErrorDetail[],
  headers: Record<string, string> = {},
): Response {
  const body: Record<string, unknown> = { title, message };
  if (details && details.length > 0) body.details = details;
  return json(body, status, headers);
}

export const invalidArgument = (details: ErrorDetail[]): Response =>
  apiError(400, undefined, undefined, details);

export const notFound = (): Response => apiError(404);

export const permissionDenied = (message?: string): Response => apiError(403, undefined, message);

export type AuthFailure = "invalid" | "expired" | "revoked";

export const unauthenticated = (why: AuthFailure): Response =>
  apiError(
    401,
    "Unauthenticated",
    why === "revoked" ? "The access token was revoked" : `The access token is ${why}`,
  );

/** RFC 6749 §5.2 error from the token/revoke endpoints. */
export function oauthError(status: number, error: string, description: string): Response {
  return json({ error, error_description: description }, status, {
    "cache-control": "no-store",
    pragma: "no-cache",
  });
}

export const INVALID_GRANT = "The provided authorization grant is invalid, expired, revoked, " +
  "does not match the redirection URI used in the authorization request, or was issued to " +
  "another client.";

export const INVALID_CLIENT = "Client authentication failed due to unknown client, no client " +
  "authentication included, or unsupported authentication method.";
