// The emulator's state: workspaces, integrations and their connections (bot users), tokens,
// databases, data sources, pages, person users and query-cursor snapshots.
// Invariants: ids are dashed lowercase UUIDs; created/edited instants are stored exact and
// rounded down to the minute only when rendered; a page belongs to exactly one data source;
// access is decided per connection (bot) by the database's `sharedWith` set.

/** Who made a change: a person through the UI/control API, or a connection's bot via the API. */
export interface Author {
  id: string;
  type: "person" | "bot";
}

export interface Workspace {
  id: string;
  name: string;
  icon: string | null;
}

export interface Integration {
  id: string;
  name: string;
  kind: "internal" | "public";
}

/** One authorization of an integration in one workspace; its bot user authors API writes. */
export interface Connection {
  botUserId: string;
  integrationId: string;
  workspaceId: string;
  /** Person who installed / authorized it (the OAuth `owner`). */
  ownerUserId: string;
  name: string;
}

export interface AccessToken {
  token: string;
  botUserId: string;
  kind: "internal" | "oauth";
  /** Emulator-clock ms; null = never expires. */
  expiresAtMs: number | null;
  revoked: boolean;
}

export interface RefreshToken {
  token: string;
  botUserId: string;
  used: boolean;
  /** Access token minted together with this refresh token. */
  accessToken: string;
}

export interface AuthCode {
  code: string;
  botUserId: string;
  redirectUri: string | null;
  expiresAtMs: number;
  used: boolean;
}

export interface PersonUser {
  id: string;
  name: string;
  email: string;
}

export type PropertyType =
  | "title"
  | "rich_text"
  | "date"
  | "checkbox"
  | "number"
  | "select"
  | "url";

export interface SelectOption {
  id: string;
  name: string;
  color: string;
}

export interface PropertySchema {
  id: string;
  name: string;
  type: PropertyType;
  options?: SelectOption[];
}

export interface Database {
  id: string;
  workspaceId: string;
  title: string;
  dataSourceIds: string[];
  /** Bot user ids of the connections this database is shared with. */
  sharedWith: Set<string>;
  createdMs: number;
  editedMs: number;
  createdBy: Author;
  editedBy: Author;
  inTrash: boolean;
}

export interface DataSource {
  id: string;
  databaseId: string;
  name: string;
  properties: PropertySchema[];
  createdMs: number;
  editedMs: number;
  createdBy: Author;
  editedBy: Author;
  inTrash: boolean;
}

/** A stored property value, already in Notion's response shape for its type. */
export type StoredValue = unknown;

export interface Page {
  id: string;
  dataSourceId: string;
  /** Property id -> value in response shape (rich text arrays, {start,end,time_zone}, ...). */
  values: Map<string, StoredValue>;
  createdMs: number;
  editedMs: number;
  createdBy: Author;
  editedBy: Author;
  inTrash: boolean;
  /** Creation order, for stable listing in the control API. */
  seq: number;
}

/** A frozen result list that query/search cursors walk through. */
export interface Snapshot {
  scope: string;
  botUserId: string;
  ids: string[];
}

export interface Cursor {
  snapshot: Snapshot;
  offset: number;
}

export class Store {
  workspaces = new Map<string, Workspace>();
  integrations = new Map<string, Integration>();
  connections = new Map<string, Connection>();
  accessTokens = new Map<string, AccessToken>();
  refreshTokens = new Map<string, RefreshToken>();
  authCodes = new Map<string, AuthCode>();
  persons = new Map<string, PersonUser>();
  databases = new Map<string, Database>();
  dataSources = new Map<string, DataSource>();
  pages = new Map<string, Page>();
  cursors = new Map<string, Cursor>();
  pageSeq = 0;

  /** Cursor entries kept at most; the oldest go first (tests never need more). */
  static readonly MAX_CURSORS = 10_000;

  addCursor(id: string, cursor: Cursor): void {
    this.cursors.set(id, cursor);
    if (this.cursors.size > Store.MAX_CURSORS) {
      const oldest = this.cursors.keys().next().value;
      if (oldest !== undefined) this.cursors.delete(oldest);
    }
  }

  databaseOf(ds: DataSource): Database {
    return this.databases.get(ds.databaseId)!;
  }

  dataSourceOf(page: Page): DataSource {
    return this.dataSources.get(page.dataSourceId)!;
  }

  /** Connection can see the database: same workspace and shared with its bot. */
  canAccessDatabase(conn: Connection, db: Database): boolean {
    return db.workspaceId === conn.workspaceId && db.sharedWith.has(conn.botUserId);
  }

  /** Find a connection by bot user id, internal integration id, or access token. */
  resolveConnection(ref: string): Connection | undefined {
    const direct = this.connections.get(ref);
    if (direct) return direct;
    const token = this.accessTokens.get(ref);
    if (token) return this.connections.get(token.botUserId);
    const matches = [...this.connections.values()].filter((c) => c.integrationId === ref);
    return matches.length === 1 ? matches[0] : undefined;
  }
}
