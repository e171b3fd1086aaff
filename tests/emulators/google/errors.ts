// Google API error bodies. Calendar errors use the classic shape
// {"error":{"errors":[{domain,reason,message,locationType?,location?}],"code","message"}}
// (Calendar "Handle API errors" guide); the OAuth token endpoint uses RFC 6749 §5.2 bodies.

import { json } from "./util.ts";

interface ReasonInfo {
  domain: string;
  message: string;
}

/** Default domain/message per reason, as listed in the Calendar errors guide. */
const REASONS: Record<string, ReasonInfo> = {
  authError: { domain: "global", message: "Invalid Credentials" },
  rateLimitExceeded: { domain: "usageLimits", message: "Rate Limit Exceeded" },
  userRateLimitExceeded: { domain: "usageLimits", message: "User Rate Limit Exceeded" },
  quotaExceeded: { domain: "usageLimits", message: "Calendar usage limits exceeded." },
  forbiddenForNonOrganizer: {
    domain: "calendar",
    message: "Shared properties can only be changed by the organizer of the event.",
  },
  forbidden: { domain: "global", message: "Forbidden" },
  notFound: { domain: "global", message: "Not Found" },
  duplicate: { domain: "global", message: "The requested identifier already exists." },
  conflict: { domain: "global", message: "Conflict" },
  deleted: { domain: "global", message: "Resource has been deleted" },
  fullSyncRequired: {
    domain: "calendar",
    message: "Sync token is no longer valid, a full sync is required.",
  },
  updatedMinTooLongAgo: {
    domain: "calendar",
    message: "The requested minimum modification time lies too far in the past.",
  },
  conditionNotMet: { domain: "global", message: "Precondition Failed" },
  backendError: { domain: "global", message: "Backend Error" },
  timeRangeEmpty: { domain: "calendar", message: "The specified time range is empty." },
  invalid: { domain: "global", message: "Invalid Value" },
  required: { domain: "global", message: "Required" },
  parseError: { domain: "global", message: "Parse Error" },
  badRequest: { domain: "global", message: "Bad Request" },
  channelIdNotUnique: { domain: "global", message: "Channel id not unique" },
  // Shape not in the errors guide (emulator choice, see README).
  cannotDeletePrimaryCalendar: { domain: "calendar", message: "Cannot delete primary calendar." },
};

/** Default reason for a status when a fault rule names none. */
const DEFAULT_REASON: Record<number, string> = {
  400: "badRequest",
  401: "authError",
  403: "rateLimitExceeded",
  404: "notFound",
  409: "conflict",
  410: "deleted",
  412: "conditionNotMet",
  429: "rateLimitExceeded",
  500: "backendError",
  502: "backendError",
  503: "backendError",
  504: "backendError",
};

export interface ErrorDetail {
  message?: string;
  domain?: string;
  locationType?: string;
  location?: string;
}

export function googleErrorBody(status: number, reason?: string, detail: ErrorDetail = {}) {
  const r = reason ?? DEFAULT_REASON[status] ?? "unknown";
  const info = REASONS[r];
  const message = detail.message ?? info?.message ?? r;
  const item: Record<string, string> = {
    domain: detail.domain ?? info?.domain ?? "global",
    reason: r,
    message,
  };
  if (detail.locationType) item.locationType = detail.locationType;
  if (detail.location) item.location = detail.location;
  return { error: { errors: [item], code: status, message } };
}

export function googleError(
  status: number,
  reason?: string,
  detail: ErrorDetail = {},
  headers: Record<string, string> = {},
): Response {
  return json(googleErrorBody(status, reason, detail), status, headers);
}

export const authError = (): Response =>
  googleError(401, "authError", { locationType: "header", location: "Authorization" }, {
    "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
  });

export const notFound = (): Response => googleError(404, "notFound");

/** 412 for an If-Match header that no longer matches the event's etag (errors guide). */
export const conditionNotMet = (): Response =>
  googleError(412, "conditionNotMet", { locationType: "header", location: "If-Match" });

export const fullSyncRequired = (): Response =>
  googleError(410, "fullSyncRequired", { locationType: "parameter", location: "syncToken" });

/** 400 "invalid" for a query parameter, like Google's validation errors. */
export const invalidParam = (location: string, message = `Invalid value for: ${location}`) =>
  googleError(400, "invalid", { message, locationType: "parameter", location });

/** RFC 6749 §5.2 error as returned by oauth2.googleapis.com/token. */
export function oauthError(status: number, error: string, description: string): Response {
  return json({ error, error_description: description }, status, { "cache-control": "no-store" });
}
