// Notion error bodies. API errors are always
// {"object":"error","status":<n>,"code":"<code>","message":"<text>","request_id":"<uuid>"};
// the OAuth token endpoint answers RFC 6749 style {"error":"<code>","error_description"?}.
// Invariant: status and code always agree with Notion's status-code table below.

import { json, uuid } from "./util.ts";

/** Default code for a status (Notion "Status codes" reference). */
const DEFAULT_CODE: Record<number, string> = {
  400: "validation_error",
  401: "unauthorized",
  403: "restricted_resource",
  404: "object_not_found",
  409: "conflict_error",
  429: "rate_limited",
  500: "internal_server_error",
  502: "bad_gateway",
  503: "service_unavailable",
  504: "gateway_timeout",
  529: "service_overload",
};

const DEFAULT_MESSAGE: Record<string, string> = {
  validation_error: "The request body does not match the schema for the expected parameters.",
  invalid_request: "This request is not supported.",
  invalid_request_url: "Invalid request URL.",
  invalid_json: "Error parsing JSON body.",
  missing_version: "Notion-Version header failed validation: Notion-Version header should be " +
    "defined, instead was `undefined`.",
  unauthorized: "API token is invalid.",
  restricted_resource: "Insufficient permissions for this endpoint.",
  object_not_found: "Could not find the requested object.",
  conflict_error: "Conflict occurred while saving. Please try again.",
  rate_limited: "You have been rate limited. Please try again in a few minutes.",
  internal_server_error: "Unexpected error occurred.",
  bad_gateway: "Notion encountered an issue while attempting to complete this request.",
  service_unavailable: "Notion is unavailable. Please try again later.",
  gateway_timeout: "Notion timed out while attempting to complete this request.",
  service_overload: "Notion is overloaded. Please try again later.",
};

export function defaultCode(status: number): string {
  return DEFAULT_CODE[status] ?? (status >= 500 ? "internal_server_error" : "invalid_request");
}

export function notionError(
  status: number,
  code = defaultCode(status),
  message = DEFAULT_MESSAGE[code] ?? code,
  headers: Record<string, string> = {},
): Response {
  return json({ object: "error", status, code, message, request_id: uuid() }, status, headers);
}

export const validationError = (message: string): Response =>
  notionError(400, "validation_error", message);

export const invalidRequest = (message?: string): Response =>
  notionError(400, "invalid_request", message);

export const unauthorized = (): Response => notionError(401, "unauthorized");

/** 404 with the message Notion uses for objects the integration cannot see. */
export function objectNotFound(kind: "page" | "database" | "data source", id: string): Response {
  return notionError(
    404,
    "object_not_found",
    `Could not find ${kind} with ID: ${id}. Make sure the relevant pages and databases are ` +
      "shared with your integration.",
  );
}

/** 400 for a path id that is not a UUID. */
export function invalidPathId(param: string, raw: string): Response {
  return validationError(
    `path failed validation: path.${param} should be a valid uuid, instead was \`"${raw}"\`.`,
  );
}

/** RFC 6749 §5.2 error as Notion's /v1/oauth/token returns it. */
export function oauthError(status: number, error: string, description?: string): Response {
  const body: Record<string, string> = { error };
  if (description) body.error_description = description;
  return json(body, status, { "cache-control": "no-store" });
}
