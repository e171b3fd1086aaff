// Read endpoints: databases (discovery of data sources), data sources (schema), the
// data-source query (filter / sorts / cursor pagination), the legacy database query (versions
// before 2025-09-03, single-data-source databases only), search, and users.
// Invariants: objects the connection cannot see answer 404 object_not_found exactly like
// missing ones; trashed pages never appear in query or search results.

import type { ApiCall } from "./context.ts";
import { invalidRequest, notionError, objectNotFound, validationError } from "./errors.ts";
import { compileFilter, compileSorts } from "./filters.ts";
import { paginate } from "./pagination.ts";
import { plainText } from "./properties.ts";
import { renderBot, renderDatabase, renderDataSource, renderPage, renderPerson } from "./render.ts";
import { filterProperties, jsonBody, pathId } from "./request.ts";
import type { Database, DataSource, Page } from "./store.ts";
import { floorToMinute } from "./time.ts";
import { isRecord, json, uuid } from "./util.ts";

const withRequestId = (obj: Record<string, unknown>) => json({ ...obj, request_id: uuid() });

/** The database behind a path id, if this connection may see it. */
export function visibleDatabase(call: ApiCall, raw: string): Database | Response {
  const id = pathId(raw, "database_id");
  if (id instanceof Response) return id;
  const db = call.ctx.store.databases.get(id);
  if (!db || !call.ctx.store.canAccessDatabase(call.conn, db)) {
    return objectNotFound("database", id);
  }
  return db;
}

/** The data source behind an id, if this connection may see it. */
export function visibleDataSource(call: ApiCall, raw: string): DataSource | Response {
  const id = pathId(raw, "data_source_id");
  if (id instanceof Response) return id;
  const ds = call.ctx.store.dataSources.get(id);
  const db = ds && call.ctx.store.databases.get(ds.databaseId);
  if (!ds || !db || !call.ctx.store.canAccessDatabase(call.conn, db)) {
    return objectNotFound("data source", id);
  }
  return ds;
}

/** Legacy versions can only address a database that has exactly one data source. */
function singleSource(call: ApiCall, db: Database): DataSource | Response {
  if (db.dataSourceIds.length !== 1) {
    return invalidRequest(
      "Databases with multiple data sources are not supported in this API version. " +
        "Use Notion-Version 2025-09-03 or later.",
    );
  }
  return call.ctx.store.dataSources.get(db.dataSourceIds[0])!;
}

export function retrieveDatabase(call: ApiCall): Response {
  const db = visibleDatabase(call, call.params[0]);
  if (db instanceof Response) return db;
  if (!call.version.dataSources) {
    const ds = singleSource(call, db);
    if (ds instanceof Response) return ds;
  }
  return withRequestId(renderDatabase(call.ctx.store, db, call.version));
}

export function retrieveDataSource(call: ApiCall): Response {
  const ds = visibleDataSource(call, call.params[0]);
  if (ds instanceof Response) return ds;
  return withRequestId(renderDataSource(ds, call.version));
}

async function queryRows(call: ApiCall, ds: DataSource, listType: string): Promise<Response> {
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const { store, clock } = call.ctx;
  const now = clock.now();
  const predicate = body.filter === undefined ? () => true : compileFilter(ds, body.filter, now);
  if (typeof predicate === "string") return validationError(predicate);
  const order = compileSorts(ds, body.sorts);
  if (typeof order === "string") return validationError(order);
  const only = filterProperties(call.url, ds);
  if (only instanceof Response) return only;
  return paginate(call, body, {
    scope: `query:${ds.id}`,
    type: listType,
    ids: () =>
      [...store.pages.values()]
        .filter((p) => p.dataSourceId === ds.id && !p.inTrash && predicate(p))
        .sort(order)
        .map((p) => p.id),
    render: (id) => {
      const page = store.pages.get(id);
      if (!page || page.inTrash || page.dataSourceId !== ds.id) return undefined;
      return renderPage(store, page, call.version, only);
    },
  });
}

export function queryDataSource(call: ApiCall): Promise<Response> | Response {
  const ds = visibleDataSource(call, call.params[0]);
  if (ds instanceof Response) return ds;
  return queryRows(call, ds, "page_or_data_source");
}

/** POST /v1/databases/{id}/query: only before 2025-09-03 (then data_sources/{id}/query). */
export function queryDatabase(call: ApiCall): Promise<Response> | Response {
  if (call.version.dataSources) {
    return invalidRequest(
      "Database queries moved to POST /v1/data_sources/{data_source_id}/query in 2025-09-03.",
    );
  }
  const db = visibleDatabase(call, call.params[0]);
  if (db instanceof Response) return db;
  const ds = singleSource(call, db);
  if (ds instanceof Response) return ds;
  return queryRows(call, ds, "page_or_database");
}

/** POST /v1/search: accessible pages and data sources (databases before 2025-09-03). */
export async function search(call: ApiCall): Promise<Response> {
  const body = await jsonBody(call.req);
  if (body instanceof Response) return body;
  const { store } = call.ctx;
  const containerKind = call.version.dataSources ? "data_source" : "database";
  let kinds = ["page", containerKind];
  if (body.filter !== undefined) {
    const f = body.filter;
    if (!isRecord(f) || f.property !== "object" || !kinds.includes(String(f.value))) {
      return validationError(
        `body failed validation: body.filter.value should be "page" or "${containerKind}".`,
      );
    }
    kinds = [String(f.value)];
  }
  let direction = -1;
  if (body.sort !== undefined) {
    const s = body.sort;
    if (
      !isRecord(s) || s.timestamp !== "last_edited_time" ||
      (s.direction !== "ascending" && s.direction !== "descending")
    ) {
      return validationError("body failed validation: body.sort is invalid.");
    }
    direction = s.direction === "ascending" ? 1 : -1;
  }
  if (body.query !== undefined && typeof body.query !== "string") {
    return validationError("body failed validation: body.query should be a string.");
  }
  const needle = String(body.query ?? "").toLowerCase();
  const visible = (db: Database | undefined) =>
    db !== undefined && !db.inTrash && store.canAccessDatabase(call.conn, db);
  const collect = () => {
    const found: Array<{ key: string; edited: number; title: string }> = [];
    if (kinds.includes("page")) {
      for (const p of store.pages.values()) {
        const ds = store.dataSourceOf(p);
        if (p.inTrash || !visible(store.databaseOf(ds))) continue;
        const title = plainText(titleOf(ds, p));
        found.push({ key: `page:${p.id}`, edited: p.editedMs, title });
      }
    }
    if (kinds.includes("data_source")) {
      for (const ds of store.dataSources.values()) {
        if (visible(store.databaseOf(ds))) {
          found.push({ key: `data_source:${ds.id}`, edited: ds.editedMs, title: ds.name });
        }
      }
    }
    if (kinds.includes("database")) {
      for (const db of store.databases.values()) {
        if (visible(db)) {
          found.push({ key: `database:${db.id}`, edited: db.editedMs, title: db.title });
        }
      }
    }
    return found
      .filter((f) => f.title.toLowerCase().includes(needle))
      .sort((a, b) =>
        direction * (floorToMinute(a.edited) - floorToMinute(b.edited)) ||
        a.key.localeCompare(b.key)
      )
      .map((f) => f.key);
  };
  return paginate(call, body, {
    scope: `search:${containerKind}:${kinds.join(",")}:${needle}`,
    type: "page_or_data_source",
    ids: collect,
    render: (key) => {
      const [kind, id] = key.split(":");
      if (kind === "page") {
        const p = store.pages.get(id);
        return p && !p.inTrash ? renderPage(store, p, call.version) : undefined;
      }
      if (kind === "data_source") {
        const ds = store.dataSources.get(id);
        return ds ? renderDataSource(ds, call.version) : undefined;
      }
      const db = store.databases.get(id);
      return db ? renderDatabase(store, db, call.version) : undefined;
    },
  });
}

function titleOf(ds: DataSource, p: Page): unknown {
  const prop = ds.properties.find((x) => x.type === "title");
  return prop ? p.values.get(prop.id) : [];
}

export function usersMe(call: ApiCall): Response {
  return withRequestId(renderBot(call.ctx.store, call.conn));
}

export function retrieveUser(call: ApiCall): Response {
  const id = pathId(call.params[0], "user_id");
  if (id instanceof Response) return id;
  const { store } = call.ctx;
  const person = store.persons.get(id);
  if (person) return withRequestId(renderPerson(person));
  const bot = store.connections.get(id);
  if (bot && bot.workspaceId === call.conn.workspaceId) {
    return withRequestId(renderBot(store, bot));
  }
  return notionError(404, "object_not_found", `Could not find user with ID: ${id}.`);
}
