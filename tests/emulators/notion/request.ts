// Request-side helpers for API handlers: the JSON body (400 invalid_json / validation_error),
// path ids (400 for non-UUIDs), filter_properties and page_size parameters.
// Invariant: helpers return either the parsed value or a ready Notion error Response.

import { invalidPathId, notionError, validationError } from "./errors.ts";
import { findProperty } from "./properties.ts";
import type { DataSource } from "./store.ts";
import { isRecord, normalizeId, readJson } from "./util.ts";

export async function jsonBody(req: Request): Promise<Record<string, unknown> | Response> {
  let parsed: unknown;
  try {
    parsed = await readJson(req);
  } catch {
    return notionError(400, "invalid_json");
  }
  if (parsed === undefined) return {};
  if (!isRecord(parsed)) {
    return validationError("body failed validation: body should be an object.");
  }
  return parsed;
}

export function pathId(raw: string, param: string): string | Response {
  return normalizeId(raw) ?? invalidPathId(param, raw);
}

/** ?filter_properties=<id or name> (repeatable) -> property ids, undefined when absent. */
export function filterProperties(url: URL, ds: DataSource): Set<string> | undefined | Response {
  const wanted = url.searchParams.getAll("filter_properties").flatMap((v) => v.split(","));
  if (wanted.length === 0) return undefined;
  const ids = new Set<string>();
  for (const w of wanted) {
    const key = decodeURIComponent(w);
    const prop = findProperty(ds, key) ?? findProperty(ds, w);
    if (!prop) return validationError(`Could not find property with name or id: ${key}`);
    ids.add(prop.id);
  }
  return ids;
}

/** page_size: default 100, integer in [1, 100] else 400 validation_error. */
export function pageSize(body: Record<string, unknown>): number | Response {
  const v = body.page_size;
  if (v === undefined) return 100;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    return validationError("body failed validation: body.page_size should be an integer.");
  }
  if (v > 100) {
    return validationError(
      `body failed validation: body.page_size should be ≤ \`100\`, instead was \`${v}\`.`,
    );
  }
  if (v < 1) {
    return validationError(
      `body failed validation: body.page_size should be ≥ \`1\`, instead was \`${v}\`.`,
    );
  }
  return v;
}
