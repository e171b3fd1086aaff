// Page endpoints: create (parent data_source_id, or database_id with exactly one data source),
// retrieve (trashed pages too, flagged in_trash) and update (properties, in_trash, and the
// older `archived` alias before 2026-03-11). API writes are authored by the connection's bot.
// Invariants: validation happens before any state changes; a trashed page refuses property
// edits unless the same request restores it.

import type { ApiCall } from "./context.ts";
import { objectNotFound, validationError } from "./errors.ts";
import { createPage, updatePage } from "./mutations.ts";
import { parseWrites } from "./properties.ts";
import { renderPage } from "./render.ts";
import { filterProperties, jsonBody, pathId } from "./request.ts";
import type { Author, DataSource, Page } from "./store.ts";
import { isRecord, json, uuid } from "./util.ts";
import { visibleDatabase, visibleDataSource } from "./api_data.ts";

const botOf = (call: ApiCall): Author => ({ id: call.conn.botUserId, type: "bot" });
const pageJson = (call: ApiCall, page: Page, only?: Set<string>) =>
  json({ ...renderPage(call.ctx.store, page, call.version, only), request_id: uuid() });

function visiblePage(call: ApiCall, raw: string): Page | Response {
  const id = pathId(raw, "page_id");
  if (id instanceof Response) return id;
  const { store } = call.ctx;
  const page = store.pages.get(id);
  if (!page || !store.canAccessDatabase(call.conn, store.databaseOf(store.dataSourceOf(page)))) {
    return objectNotFound("page", id);
  }
  return page;
}

/** Resolve `parent` of a create: {data_source_id} or {database_id} (single data source). */
function parentDataSource(call: ApiCall, parent: unknown): DataSource | Response {
  if (!isRecord(parent)) {
    return validationError("body failed validation: body.parent should be defined.");
  }
  if (typeof parent.data_source_id === "string" && call.version.dataSources) {
    return visibleDataSource(call, parent.data_source_id);
  }
  if (typeof parent.database_id === "string") {
    const db = visibleDatabase(call, parent.database_id);
    if (db instanceof Response) return db;
    if (db.dataSourceIds.length !== 1) {
      return validationError(
        "Database has more than one data source; use parent.data_source_id instead.",
      );
    }
    return call.ctx.store.dataSources.get(db.dataSourceIds[0])!;
  }
  return validationError(
    "body failed validation: body.parent should have a data_source_id or a database_id " +
      "(the emulator supports database rows only).",
  );
}

export async function createPageEndpoint(call: ApiCall): Promise<Response> {
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const ds = parentDataSource(call, body.parent);
  if (ds instanceof Response) return ds;
  const writes = parseWrites(ds, body.properties ?? {});
  if (typeof writes === "string") return validationError(writes);
  const page = createPage(call.ctx, ds, writes, botOf(call));
  return pageJson(call, page);
}

export function retrievePage(call: ApiCall): Response {
  const page = visiblePage(call, call.params[0]);
  if (page instanceof Response) return page;
  const only = filterProperties(call.url, call.ctx.store.dataSourceOf(page));
  if (only instanceof Response) return only;
  return pageJson(call, page, only);
}

/** in_trash / archived from an update body; an error message, or the flag (maybe absent). */
export function trashFlag(
  body: Record<string, unknown>,
  archivedAlias: boolean,
): boolean | undefined | string {
  const { in_trash: inTrash, archived } = body;
  if (archived !== undefined && !archivedAlias) {
    return "body failed validation: body.archived is not supported in this version; use in_trash.";
  }
  for (const [k, v] of [["in_trash", inTrash], ["archived", archived]] as const) {
    if (v !== undefined && typeof v !== "boolean") {
      return `body failed validation: body.${k} should be a boolean.`;
    }
  }
  if (inTrash !== undefined && archived !== undefined && inTrash !== archived) {
    return "body failed validation: body.in_trash and body.archived disagree.";
  }
  return (inTrash ?? archived) as boolean | undefined;
}

export async function updatePageEndpoint(call: ApiCall): Promise<Response> {
  const page = visiblePage(call, call.params[0]);
  if (page instanceof Response) return page;
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const trash = trashFlag(body, call.version.archivedAlias);
  if (typeof trash === "string") return validationError(trash);
  const ds = call.ctx.store.dataSourceOf(page);
  const writes = parseWrites(ds, body.properties ?? {});
  if (typeof writes === "string") return validationError(writes);
  if (page.inTrash && writes.values.size > 0 && trash !== false) {
    return validationError(
      "Can't edit block that is archived. You must unarchive the block before editing.",
    );
  }
  updatePage(call.ctx, page, writes, trash, botOf(call));
  return pageJson(call, page);
}
