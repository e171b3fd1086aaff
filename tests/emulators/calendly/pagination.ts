// Keyset pagination shared by every list endpoint. Items are ordered by a key (milliseconds,
// uuid); a page token remembers the key of the item at the page edge and the direction, so
// paging stays stable while items are added, changed or removed between requests: an item
// whose key does not change is never skipped nor returned twice.
//
// Page tokens are opaque base64url JSON: {a: key} = items after key, {b: key} = items before.

import { type ErrorDetail, invalidArgument } from "./errors.ts";
import { decodeOpaque, encodeOpaque } from "./util.ts";

export type Key = [number, string];

function compare(a: Key, b: Key): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);
}

export interface PageRequest {
  count: number;
  desc: boolean;
  token: { a?: Key; b?: Key } | null;
}

function isKey(v: unknown): v is Key {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === "number" &&
    typeof v[1] === "string";
}

/**
 * Read `count`, `page_token` and `sort` (`<field>:asc|desc`, only `sortField` allowed).
 * Returns the 400 answer when one of them is invalid.
 */
export function readPageRequest(
  params: URLSearchParams,
  opts: { defaultCount: number; maxCount: number; sortField: string },
): PageRequest | Response {
  const details: ErrorDetail[] = [];
  let count = opts.defaultCount;
  const rawCount = params.get("count");
  if (rawCount !== null) {
    count = /^\d+$/.test(rawCount) ? Number(rawCount) : NaN;
    if (!(count >= 1 && count <= opts.maxCount)) {
      details.push({
        parameter: "count",
        message: `must be an integer between 1 and ${opts.maxCount}`,
      });
    }
  }
  let desc = false;
  const sort = params.get("sort");
  if (sort !== null) {
    const m = new RegExp(`^${opts.sortField}:(asc|desc)$`).exec(sort);
    if (!m) {
      details.push({
        parameter: "sort",
        message: `must be ${opts.sortField}:asc or ${opts.sortField}:desc`,
      });
    } else desc = m[1] === "desc";
  }
  let token: PageRequest["token"] = null;
  const raw = params.get("page_token");
  if (raw !== null && raw !== "") {
    const decoded = decodeOpaque(raw) as Record<string, unknown> | undefined;
    if (decoded && (isKey(decoded.a) || isKey(decoded.b))) {
      token = isKey(decoded.a) ? { a: decoded.a } : { b: decoded.b as Key };
    } else {
      details.push({ parameter: "page_token", message: "is invalid" });
    }
  }
  if (details.length > 0) return invalidArgument(details);
  return { count, desc, token };
}

export interface Page<T> {
  items: T[];
  pagination: {
    count: number;
    next_page: string | null;
    previous_page: string | null;
    next_page_token: string | null;
    previous_page_token: string | null;
  };
}

/**
 * One page of `all` (any order in, ordered by key out). `pageUrl(token)` builds the full URL of
 * another page; `cap` shortens pages further (config.pageSizeCap).
 */
export function paginate<T>(
  all: T[],
  key: (item: T) => Key,
  req: PageRequest,
  pageUrl: (token: string) => string,
  cap: number | null,
): Page<T> {
  const dir = req.desc ? -1 : 1;
  const ordered = [...all].sort((x, y) => dir * compare(key(x), key(y)));
  const size = cap ? Math.min(req.count, cap) : req.count;
  let start = 0;
  let end = Math.min(size, ordered.length);
  if (req.token?.a) {
    const after = req.token.a;
    start = ordered.findIndex((it) => dir * compare(key(it), after) > 0);
    if (start < 0) start = ordered.length;
    end = Math.min(start + size, ordered.length);
  } else if (req.token?.b) {
    const before = req.token.b;
    let firstNotBefore = ordered.findIndex((it) => dir * compare(key(it), before) >= 0);
    if (firstNotBefore < 0) firstNotBefore = ordered.length;
    end = firstNotBefore;
    start = Math.max(0, end - size);
  }
  const items = ordered.slice(start, end);
  const next = end < ordered.length && items.length > 0
    ? encodeOpaque({ a: key(items[items.length - 1]) })
    : null;
  const previous = start > 0 && items.length > 0 ? encodeOpaque({ b: key(items[0]) }) : null;
  return {
    items,
    pagination: {
      count: items.length,
      next_page: next === null ? null : pageUrl(next),
      previous_page: previous === null ? null : pageUrl(previous),
      next_page_token: next,
      previous_page_token: previous,
    },
  };
}

/** The request's own URL with page_token replaced (how Calendly builds next_page). */
export function pageUrlFor(baseUrl: string, url: URL): (token: string) => string {
  return (token) => {
    const params = new URLSearchParams(url.searchParams);
    params.set("page_token", token);
    return `${baseUrl}${url.pathname}?${params}`;
  };
}
