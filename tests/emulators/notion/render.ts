// Response shapes for pages, databases, data sources and users, per Notion-Version.
// Invariants: created_time/last_edited_time are always rounded down to the minute; `archived`
// appears only for versions before 2026-03-11 (always equal to `in_trash`); page parents are
// data_source_id parents from 2025-09-03 on and database_id parents before.

import { plainText, renderSchema, renderValue, textItem } from "./properties.ts";
import type { Author, Connection, Database, DataSource, Page, PersonUser, Store } from "./store.ts";
import { floorToMinute, toIso } from "./time.ts";
import type { ApiVersion } from "./versions.ts";

const userRef = (a: Author) => ({ object: "user", id: a.id });
const stamp = (ms: number) => toIso(floorToMinute(ms));
const compact = (id: string) => id.replaceAll("-", "");

function slug(title: string): string {
  const s = title.trim().replace(/[^A-Za-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
  return s ? `${s}-` : "";
}

function trashFields(inTrash: boolean, v: ApiVersion): Record<string, boolean> {
  return v.archivedAlias ? { archived: inTrash, in_trash: inTrash } : { in_trash: inTrash };
}

/** A page object; `only` limits properties to the given ids (filter_properties). */
export function renderPage(
  store: Store,
  page: Page,
  v: ApiVersion,
  only?: Set<string>,
): Record<string, unknown> {
  const ds = store.dataSourceOf(page);
  const properties: Record<string, unknown> = {};
  let title = "";
  for (const prop of ds.properties) {
    const stored = page.values.get(prop.id);
    if (prop.type === "title") title = plainText(stored);
    if (only && !only.has(prop.id)) continue;
    properties[prop.name] = renderValue(prop, stored);
  }
  const parent = v.dataSources
    ? { type: "data_source_id", data_source_id: ds.id, database_id: ds.databaseId }
    : { type: "database_id", database_id: ds.databaseId };
  return {
    object: "page",
    id: page.id,
    created_time: stamp(page.createdMs),
    last_edited_time: stamp(page.editedMs),
    created_by: userRef(page.createdBy),
    last_edited_by: userRef(page.editedBy),
    cover: null,
    icon: null,
    parent,
    ...trashFields(page.inTrash, v),
    is_locked: false,
    properties,
    url: `https://www.notion.so/${slug(title)}${compact(page.id)}`,
    public_url: null,
  };
}

export function renderDatabase(store: Store, db: Database, v: ApiVersion) {
  const base: Record<string, unknown> = {
    object: "database",
    id: db.id,
    created_time: stamp(db.createdMs),
    last_edited_time: stamp(db.editedMs),
    created_by: userRef(db.createdBy),
    last_edited_by: userRef(db.editedBy),
    title: [textItem(db.title)],
    description: [],
    icon: null,
    cover: null,
    parent: { type: "workspace", workspace: true },
    is_inline: false,
    ...trashFields(db.inTrash, v),
    is_locked: false,
  };
  if (v.dataSources) {
    base.data_sources = db.dataSourceIds.map((id) => ({
      id,
      name: store.dataSources.get(id)!.name,
    }));
  } else {
    base.properties = renderSchema(store.dataSources.get(db.dataSourceIds[0])!.properties);
  }
  base.url = `https://www.notion.so/${compact(db.id)}`;
  base.public_url = null;
  return base;
}

export function renderDataSource(ds: DataSource, v: ApiVersion) {
  return {
    object: "data_source",
    id: ds.id,
    created_time: stamp(ds.createdMs),
    last_edited_time: stamp(ds.editedMs),
    created_by: userRef(ds.createdBy),
    last_edited_by: userRef(ds.editedBy),
    properties: renderSchema(ds.properties),
    parent: { type: "database_id", database_id: ds.databaseId },
    database_parent: { type: "workspace", workspace: true },
    title: [textItem(ds.name)],
    description: [],
    icon: null,
    cover: null,
    is_inline: false,
    ...trashFields(ds.inTrash, v),
    url: `https://www.notion.so/${compact(ds.databaseId)}?v=${compact(ds.id)}`,
    public_url: null,
  };
}

export function renderBot(store: Store, conn: Connection) {
  const ws = store.workspaces.get(conn.workspaceId);
  const integration = store.integrations.get(conn.integrationId);
  const owner = integration?.kind === "public"
    ? { type: "user", user: { object: "user", id: conn.ownerUserId } }
    : { type: "workspace", workspace: true };
  return {
    object: "user",
    id: conn.botUserId,
    name: conn.name,
    avatar_url: null,
    type: "bot",
    bot: { owner, workspace_name: ws?.name ?? null, workspace_id: conn.workspaceId },
  };
}

export function renderPerson(p: PersonUser) {
  return {
    object: "user",
    id: p.id,
    name: p.name,
    avatar_url: null,
    type: "person",
    person: { email: p.email },
  };
}
