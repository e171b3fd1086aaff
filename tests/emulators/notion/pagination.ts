// Cursor pagination for list endpoints (data-source query, legacy database query, search).
// The first call freezes the ordered result ids in a snapshot; every page hands out a fresh
// opaque cursor (a UUID) naming (snapshot, offset). Cursors are immutable, so retrying a
// request with the same cursor returns the same slice, and pages edited, created or trashed
// mid-walk never shift the remaining pages (edited pages show their current values, trashed
// ones are left out of the slice, new ones wait for the next walk).
// Invariants: page size = min(page_size, pageSizeCap); has_more iff ids remain after the slice.

import type { ApiCall } from "./context.ts";
import { validationError } from "./errors.ts";
import { pageSize } from "./request.ts";
import type { Snapshot } from "./store.ts";
import { json, uuid } from "./util.ts";

export interface ListSpec {
  /** Identifies what is listed (a cursor from another list is refused). */
  scope: string;
  /** Ordered ids of the full result, computed on the first page only. */
  ids: () => string[];
  /** Render one id, or undefined when it should be skipped now (trashed, gone). */
  render: (id: string) => Record<string, unknown> | undefined;
  /** The list's `type` ("page_or_data_source", "page_or_database"). */
  type: string;
}

export function paginate(call: ApiCall, body: Record<string, unknown>, spec: ListSpec): Response {
  const { store, config } = call.ctx;
  const size = pageSize(body);
  if (size instanceof Response) return size;
  let snapshot: Snapshot;
  let offset = 0;
  if (body.start_cursor !== undefined && body.start_cursor !== null) {
    const cursor = typeof body.start_cursor === "string"
      ? store.cursors.get(body.start_cursor)
      : undefined;
    if (
      !cursor || cursor.snapshot.scope !== spec.scope ||
      cursor.snapshot.botUserId !== call.conn.botUserId
    ) {
      return validationError(
        `body failed validation: body.start_cursor should be a valid cursor, instead was \`${
          JSON.stringify(body.start_cursor)
        }\`.`,
      );
    }
    snapshot = cursor.snapshot;
    offset = cursor.offset;
  } else {
    snapshot = { scope: spec.scope, botUserId: call.conn.botUserId, ids: spec.ids() };
  }
  const take = Math.min(size, config.pageSizeCap ?? size);
  const slice = snapshot.ids.slice(offset, offset + take);
  const results = slice.map(spec.render).filter((r) => r !== undefined);
  const next = offset + slice.length;
  const hasMore = next < snapshot.ids.length;
  let nextCursor: string | null = null;
  if (hasMore) {
    nextCursor = uuid();
    store.addCursor(nextCursor, { snapshot, offset: next });
  }
  return json({
    object: "list",
    results,
    next_cursor: nextCursor,
    has_more: hasMore,
    type: spec.type,
    [spec.type]: {},
    request_id: uuid(),
  });
}
