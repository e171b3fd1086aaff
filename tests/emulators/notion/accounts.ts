// Workspaces, integrations, connections (bot users) and their tokens. An internal integration
// has exactly one connection and a never-expiring `ntn_` token; the single public integration
// (OAuth client) gets one connection per authorized workspace, with OAuth access tokens that
// expire after accessTokenTtlSeconds on the emulator clock (never by default).
// Invariant: every token maps to exactly one connection; refresh tokens are single-use.

import type { Ctx } from "./context.ts";
import type { AccessToken, Connection, PersonUser, RefreshToken, Workspace } from "./store.ts";
import { randomString, uuid } from "./util.ts";

export function newToken(): string {
  return `ntn_${randomString(46)}`;
}

/** The person that control-API writes are attributed to by default (created on demand). */
export function defaultPerson(ctx: Ctx): PersonUser {
  return ensurePerson(ctx, ctx.config.personUserId, ctx.config.personName, ctx.config.personEmail);
}

export function ensurePerson(ctx: Ctx, id: string, name?: string, email?: string): PersonUser {
  let p = ctx.store.persons.get(id);
  if (!p) {
    p = { id, name: name ?? "Person", email: email ?? `${id.slice(0, 8)}@example.com` };
    ctx.store.persons.set(id, p);
  }
  return p;
}

export function ensureWorkspace(ctx: Ctx, id?: string, name?: string): Workspace {
  const existing = id ? ctx.store.workspaces.get(id) : undefined;
  if (existing) return existing;
  const ws: Workspace = { id: id ?? uuid(), name: name ?? "Emulated workspace", icon: null };
  ctx.store.workspaces.set(ws.id, ws);
  return ws;
}

export interface NewConnection {
  kind: "internal" | "public";
  name?: string;
  workspaceId?: string;
  workspaceName?: string;
  ownerUserId?: string;
}

/** Create a connection (and its internal integration, or under the public one). */
export function createConnection(ctx: Ctx, opts: NewConnection): Connection {
  const ws = ensureWorkspace(ctx, opts.workspaceId, opts.workspaceName);
  let integrationId: string;
  let name: string;
  if (opts.kind === "public") {
    integrationId = ctx.config.publicIntegrationId;
    name = ctx.config.publicIntegrationName;
    if (!ctx.store.integrations.has(integrationId)) {
      ctx.store.integrations.set(integrationId, { id: integrationId, name, kind: "public" });
    }
  } else {
    integrationId = uuid();
    name = opts.name ?? "Emulated integration";
    ctx.store.integrations.set(integrationId, { id: integrationId, name, kind: "internal" });
  }
  const owner = opts.ownerUserId ? ensurePerson(ctx, opts.ownerUserId) : defaultPerson(ctx);
  const conn: Connection = {
    botUserId: uuid(),
    integrationId,
    workspaceId: ws.id,
    ownerUserId: owner.id,
    name,
  };
  ctx.store.connections.set(conn.botUserId, conn);
  return conn;
}

/** Mint an access token; OAuth tokens get the configured expiry. */
export function issueAccessToken(
  ctx: Ctx,
  conn: Connection,
  kind: AccessToken["kind"],
): AccessToken {
  const ttl = ctx.config.accessTokenTtlSeconds;
  const at: AccessToken = {
    token: newToken(),
    botUserId: conn.botUserId,
    kind,
    expiresAtMs: kind === "oauth" && ttl !== null ? ctx.clock.now() + ttl * 1000 : null,
    revoked: false,
  };
  ctx.store.accessTokens.set(at.token, at);
  return at;
}

export function issueOAuthPair(ctx: Ctx, conn: Connection): [AccessToken, RefreshToken] {
  const at = issueAccessToken(ctx, conn, "oauth");
  const rt: RefreshToken = {
    token: `nrt_${randomString(46)}`,
    botUserId: conn.botUserId,
    used: false,
    accessToken: at.token,
  };
  ctx.store.refreshTokens.set(rt.token, rt);
  return [at, rt];
}

/** Bearer token -> connection, or undefined when missing, unknown, revoked or expired. */
export function authenticate(ctx: Ctx, req: Request): Connection | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  if (!m) return undefined;
  const at = ctx.store.accessTokens.get(m[1]);
  if (!at || at.revoked) return undefined;
  if (at.expiresAtMs !== null && at.expiresAtMs <= ctx.clock.now()) return undefined;
  return ctx.store.connections.get(at.botUserId);
}
