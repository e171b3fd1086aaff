// Page mutations shared by the API (authored by a bot) and the control API (authored by a
// person): create, update properties / trash / untrash, move, content edit. Each one stamps
// last_edited_time/_by and reports webhook changes.
// Invariants: a write that changes nothing (same values, same trash state) neither bumps
// last_edited_time nor emits events; page.created, page.deleted, page.undeleted and page.moved
// are followed by data_source.content_updated for the data source(s) whose rows changed.

import type { Ctx } from "./context.ts";
import type { ParsedWrites } from "./properties.ts";
import type { Author, DataSource, Page } from "./store.ts";
import { jsonEqual, uuid } from "./util.ts";
import type { EventType } from "./webhooks.ts";

function pageParent(ds: DataSource) {
  return { id: ds.databaseId, type: "database", data_source_id: ds.id };
}

function emitPage(
  ctx: Ctx,
  type: EventType,
  page: Page,
  author: Author,
  data: Record<string, unknown> = {},
): void {
  const ds = ctx.store.dataSourceOf(page);
  const db = ctx.store.databaseOf(ds);
  ctx.webhooks.emit({
    type,
    workspaceId: db.workspaceId,
    databaseId: db.id,
    entity: { id: page.id, type: "page" },
    data: { parent: pageParent(ds), ...data },
    author,
  });
}

function emitRowsChanged(ctx: Ctx, ds: DataSource, pageId: string, author: Author): void {
  const db = ctx.store.databaseOf(ds);
  ctx.webhooks.emit({
    type: "data_source.content_updated",
    workspaceId: db.workspaceId,
    databaseId: db.id,
    entity: { id: ds.id, type: "data_source" },
    data: {
      parent: { id: db.id, type: "database" },
      updated_blocks: [{ id: pageId, type: "page" }],
    },
    author,
  });
}

/** New select options become part of the schema (a schema edit of the data source). */
function applyOptions(ctx: Ctx, ds: DataSource, writes: ParsedWrites, author: Author): void {
  if (writes.newOptions.length === 0) return;
  for (const { propertyId, option } of writes.newOptions) {
    const prop = ds.properties.find((p) => p.id === propertyId);
    if (prop && !(prop.options ?? []).some((o) => o.name === option.name)) {
      prop.options = [...(prop.options ?? []), option];
    }
  }
  ds.editedMs = ctx.clock.now();
  ds.editedBy = author;
}

export function createPage(
  ctx: Ctx,
  ds: DataSource,
  writes: ParsedWrites,
  author: Author,
  options: { silent?: boolean; atMs?: number } = {},
): Page {
  const now = options.atMs ?? ctx.clock.now();
  applyOptions(ctx, ds, writes, author);
  const page: Page = {
    id: uuid(),
    dataSourceId: ds.id,
    values: new Map(writes.values),
    createdMs: now,
    editedMs: now,
    createdBy: author,
    editedBy: author,
    inTrash: false,
    seq: ++ctx.store.pageSeq,
  };
  ctx.store.pages.set(page.id, page);
  if (!options.silent) {
    emitPage(ctx, "page.created", page, author);
    emitRowsChanged(ctx, ds, page.id, author);
  }
  return page;
}

export interface UpdateResult {
  changedProperties: string[];
  trashChanged: boolean;
}

/** Apply property writes and/or a trash flag; emits the matching events. */
export function updatePage(
  ctx: Ctx,
  page: Page,
  writes: ParsedWrites,
  inTrash: boolean | undefined,
  author: Author,
): UpdateResult {
  const ds = ctx.store.dataSourceOf(page);
  applyOptions(ctx, ds, writes, author);
  const changed: string[] = [];
  for (const [id, value] of writes.values) {
    if (!jsonEqual(page.values.get(id) ?? null, value)) changed.push(id);
    page.values.set(id, value);
  }
  const trashChanged = inTrash !== undefined && inTrash !== page.inTrash;
  if (changed.length === 0 && !trashChanged) return { changedProperties: [], trashChanged };
  page.editedMs = ctx.clock.now();
  page.editedBy = author;
  if (changed.length > 0) {
    emitPage(ctx, "page.properties_updated", page, author, { updated_properties: changed });
  }
  if (trashChanged) {
    page.inTrash = inTrash!;
    emitPage(ctx, inTrash ? "page.deleted" : "page.undeleted", page, author);
    emitRowsChanged(ctx, ds, page.id, author);
  }
  return { changedProperties: changed, trashChanged };
}

/** A person edits the page body (blocks): page.content_updated. */
export function editContent(ctx: Ctx, page: Page, author: Author): void {
  page.editedMs = ctx.clock.now();
  page.editedBy = author;
  emitPage(ctx, "page.content_updated", page, author, {
    updated_blocks: [{ id: uuid(), type: "block" }],
  });
}

/** Move a page to another data source; values of properties missing there are dropped. */
export function movePage(ctx: Ctx, page: Page, to: DataSource, author: Author): void {
  const from = ctx.store.dataSourceOf(page);
  const kept = new Map<string, unknown>();
  for (const [id, value] of page.values) {
    const old = from.properties.find((p) => p.id === id);
    const target = old && to.properties.find((p) => p.name === old.name && p.type === old.type);
    if (target) kept.set(target.id, value);
  }
  page.values = kept;
  page.dataSourceId = to.id;
  page.editedMs = ctx.clock.now();
  page.editedBy = author;
  emitPage(ctx, "page.moved", page, author);
  emitRowsChanged(ctx, from, page.id, author);
  if (to.id !== from.id) emitRowsChanged(ctx, to, page.id, author);
}
