// Control API for content, acting as people in Notion's UI: databases (with their first data
// source) and sharing, extra data sources, pages written by a person (firing webhooks), silent
// seeding, and the unauthenticated truth (every page of a data source, trashed ones included).
// Invariants: person writes go through the same validation and mutations as API writes; the
// truth endpoints never count as API requests and never touch the rate limiter.

import { defaultPerson } from "./accounts.ts";
import type { Ctx } from "./context.ts";
import { controlWrites, resolveAuthor, seedPages } from "./fixtures.ts";
import { createPage, editContent, movePage, updatePage } from "./mutations.ts";
import { buildSchema, renderSchema } from "./properties.ts";
import { renderPage } from "./render.ts";
import type { Author, Database, DataSource, Page } from "./store.ts";
import { floorToMinute, toIso } from "./time.ts";
import { json, normalizeId, uuid } from "./util.ts";
import type { ApiVersion } from "./versions.ts";

export const fail = (status: number, error: string) => json({ error }, status);

/** Control responses render objects as Notion-Version 2025-09-03 would. */
const CONTROL_VERSION: ApiVersion = { value: "2025-09-03", dataSources: true, archivedAlias: true };

type Body = Record<string, unknown>;

function newDataSource(ctx: Ctx, db: Database, name: string, spec: unknown, author: Author) {
  const properties = buildSchema(spec);
  if (typeof properties === "string") return properties;
  const now = ctx.clock.now();
  const ds: DataSource = {
    id: uuid(),
    databaseId: db.id,
    name,
    properties,
    createdMs: now,
    editedMs: now,
    createdBy: author,
    editedBy: author,
    inTrash: false,
  };
  ctx.store.dataSources.set(ds.id, ds);
  db.dataSourceIds.push(ds.id);
  return ds;
}

export function describeDatabase(ctx: Ctx, db: Database) {
  return {
    database_id: db.id,
    title: db.title,
    workspace_id: db.workspaceId,
    shared_with: [...db.sharedWith],
    created_time: toIso(floorToMinute(db.createdMs)),
    data_sources: db.dataSourceIds.map((id) => {
      const ds = ctx.store.dataSources.get(id)!;
      return { id, name: ds.name, properties: renderSchema(ds.properties) };
    }),
  };
}

/** POST /databases {integration?, workspace_id?, title?, properties?} */
export function createDatabase(ctx: Ctx, body: Body): Response {
  const { store } = ctx;
  const shareRefs = body.integration === undefined
    ? []
    : Array.isArray(body.integration)
    ? body.integration
    : [body.integration];
  const conns = [];
  for (const ref of shareRefs) {
    const conn = typeof ref === "string" ? store.resolveConnection(ref) : undefined;
    if (!conn) return fail(404, `unknown integration ${String(ref)}`);
    conns.push(conn);
  }
  const workspaceId = typeof body.workspace_id === "string"
    ? body.workspace_id
    : conns[0]?.workspaceId;
  if (!workspaceId || !store.workspaces.has(workspaceId)) {
    return fail(400, "give an integration (shared with) or a known workspace_id");
  }
  if (conns.some((c) => c.workspaceId !== workspaceId)) {
    return fail(409, "integration belongs to another workspace");
  }
  const author: Author = { id: defaultPerson(ctx).id, type: "person" };
  const now = ctx.clock.now();
  const title = typeof body.title === "string" ? body.title : "Sessions";
  const db: Database = {
    id: uuid(),
    workspaceId,
    title,
    dataSourceIds: [],
    sharedWith: new Set(conns.map((c) => c.botUserId)),
    createdMs: now,
    editedMs: now,
    createdBy: author,
    editedBy: author,
    inTrash: false,
  };
  const ds = newDataSource(ctx, db, title, body.properties, author);
  if (typeof ds === "string") return fail(400, ds);
  store.databases.set(db.id, db);
  return json({ database_id: db.id, data_source_id: ds.id, workspace_id: workspaceId }, 201);
}

/** POST /databases/{id}/data_sources {name?, properties?} */
export function addDataSource(ctx: Ctx, id: string, body: Body): Response {
  const db = ctx.store.databases.get(normalizeId(id) ?? "");
  if (!db) return fail(404, "unknown database");
  const author: Author = { id: defaultPerson(ctx).id, type: "person" };
  const name = typeof body.name === "string"
    ? body.name
    : `${db.title} ${db.dataSourceIds.length + 1}`;
  const ds = newDataSource(ctx, db, name, body.properties, author);
  if (typeof ds === "string") return fail(400, ds);
  db.editedMs = ctx.clock.now();
  return json({ database_id: db.id, data_source_id: ds.id }, 201);
}

/** POST /share {integration, database_id, shared?} */
export function share(ctx: Ctx, body: Body): Response {
  const conn = typeof body.integration === "string"
    ? ctx.store.resolveConnection(body.integration)
    : undefined;
  if (!conn) return fail(404, "unknown integration");
  const db = ctx.store.databases.get(normalizeId(String(body.database_id ?? "")) ?? "");
  if (!db) return fail(404, "unknown database");
  if (db.workspaceId !== conn.workspaceId) return fail(409, "integration is in another workspace");
  if (body.shared === false) db.sharedWith.delete(conn.botUserId);
  else db.sharedWith.add(conn.botUserId);
  return json({ database_id: db.id, shared_with: [...db.sharedWith] });
}

function pageTruth(ctx: Ctx, page: Page) {
  return {
    ...renderPage(ctx.store, page, CONTROL_VERSION),
    created_by: { object: "user", ...page.createdBy },
    last_edited_by: { object: "user", ...page.editedBy },
  };
}

function findDataSource(ctx: Ctx, raw: unknown): DataSource | undefined {
  return ctx.store.dataSources.get(normalizeId(String(raw ?? "")) ?? "");
}

function findPage(ctx: Ctx, raw: string): Page | undefined {
  return ctx.store.pages.get(normalizeId(raw) ?? "");
}

/** POST /pages {data_source_id, properties, author?}: a person creates a row. */
export function personCreatePage(ctx: Ctx, body: Body): Response {
  const ds = findDataSource(ctx, body.data_source_id);
  if (!ds) return fail(404, "unknown data_source_id");
  const author = resolveAuthor(ctx, body.author);
  if (typeof author === "string") return fail(400, author);
  const writes = controlWrites(ds, body.properties);
  if (typeof writes === "string") return fail(400, writes);
  return json(pageTruth(ctx, createPage(ctx, ds, writes, author)), 201);
}

/** PATCH /pages/{id} {properties?, in_trash?, author?} */
export function personUpdatePage(ctx: Ctx, id: string, body: Body): Response {
  const page = findPage(ctx, id);
  if (!page) return fail(404, "unknown page");
  const author = resolveAuthor(ctx, body.author);
  if (typeof author === "string") return fail(400, author);
  const trash = body.in_trash ?? body.archived;
  if (trash !== undefined && typeof trash !== "boolean") {
    return fail(400, "in_trash must be boolean");
  }
  const writes = controlWrites(ctx.store.dataSourceOf(page), body.properties);
  if (typeof writes === "string") return fail(400, writes);
  updatePage(ctx, page, writes, trash as boolean | undefined, author);
  return json(pageTruth(ctx, page));
}

export function getPage(ctx: Ctx, id: string): Response {
  const page = findPage(ctx, id);
  return page ? json(pageTruth(ctx, page)) : fail(404, "unknown page");
}

/** POST /pages/{id}/content {author?}: a person edits the page body. */
export function personEditContent(ctx: Ctx, id: string, body: Body): Response {
  const page = findPage(ctx, id);
  if (!page) return fail(404, "unknown page");
  const author = resolveAuthor(ctx, body.author);
  if (typeof author === "string") return fail(400, author);
  editContent(ctx, page, author);
  return json(pageTruth(ctx, page));
}

/** POST /pages/{id}/move {data_source_id, author?} */
export function personMovePage(ctx: Ctx, id: string, body: Body): Response {
  const page = findPage(ctx, id);
  if (!page) return fail(404, "unknown page");
  const to = findDataSource(ctx, body.data_source_id);
  if (!to) return fail(404, "unknown data_source_id");
  const author = resolveAuthor(ctx, body.author);
  if (typeof author === "string") return fail(400, author);
  movePage(ctx, page, to, author);
  return json(pageTruth(ctx, page));
}

/** GET /data_sources/{id}/pages?include_trashed=true: the truth, in creation order. */
export function listPages(ctx: Ctx, id: string, url: URL): Response {
  const ds = findDataSource(ctx, id);
  if (!ds) return fail(404, "unknown data source");
  const withTrash = url.searchParams.get("include_trashed") === "true";
  const pages = [...ctx.store.pages.values()]
    .filter((p) => p.dataSourceId === ds.id && (withTrash || !p.inTrash))
    .sort((a, b) => a.seq - b.seq)
    .map((p) => pageTruth(ctx, p));
  return json({ data_source_id: ds.id, count: pages.length, pages });
}

/** POST /seed {data_source_id, count, from?, spacing_minutes?, duration_minutes?, ...} */
export function seed(ctx: Ctx, body: Body): Response {
  const ds = findDataSource(ctx, body.data_source_id);
  if (!ds) return fail(404, "unknown data_source_id");
  const num = (k: string, d: number) => (body[k] === undefined ? d : Number(body[k]));
  const count = num("count", 0);
  if (!Number.isInteger(count) || count < 0 || count > 100_000) return fail(400, "bad count");
  const fromMs = body.from === undefined ? ctx.clock.now() : Date.parse(String(body.from));
  if (!Number.isFinite(fromMs)) return fail(400, "bad from");
  const ratio = num("dated_ratio", 1);
  if (!(ratio >= 0 && ratio <= 1)) return fail(400, "dated_ratio must be in [0, 1]");
  const ids = seedPages(ctx, ds, {
    count,
    fromMs,
    spacingMinutes: num("spacing_minutes", 60),
    durationMinutes: num("duration_minutes", 60),
    datedRatio: ratio,
    titlePrefix: typeof body.title_prefix === "string" ? body.title_prefix : "Seeded page",
    allDay: body.all_day === true,
  });
  if (typeof ids === "string") return fail(400, ids);
  return json({ data_source_id: ds.id, created: ids.length, page_ids: ids }, 201);
}
