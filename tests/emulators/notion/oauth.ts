// POST /v1/oauth/token: authorization_code and refresh_token grants with HTTP Basic client
// authentication and a JSON body. A refresh returns a NEW access token and a NEW refresh token;
// the presented refresh token is single-use (reuse -> 400 invalid_grant, counted).
// POST /v1/oauth/revoke {token}: the same client authentication; ends the connection's OAuth
// grant (every OAuth access token revoked, every refresh token spent) and answers {request_id}.
// A token it does not know is answered 200 as well (RFC 7009 §2.2), so revoking twice is no
// error.
// Invariants: codes are single-use, expire on the emulator clock and must be redeemed with the
// redirect_uri they were issued for (when one was given).

import { issueOAuthPair } from "./accounts.ts";
import type { Ctx } from "./context.ts";
import { oauthError } from "./errors.ts";
import type { Connection } from "./store.ts";
import { isRecord, json, uuid } from "./util.ts";

function clientFromBasic(req: Request): [string, string] | undefined {
  const m = /^Basic\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  if (!m) return undefined;
  try {
    const decoded = atob(m[1]);
    const i = decoded.indexOf(":");
    if (i < 0) return undefined;
    return [decoded.slice(0, i), decoded.slice(i + 1)];
  } catch {
    return undefined;
  }
}

function tokenResponse(ctx: Ctx, conn: Connection): Response {
  const [at, rt] = issueOAuthPair(ctx, conn);
  const ws = ctx.store.workspaces.get(conn.workspaceId)!;
  const owner = ctx.store.persons.get(conn.ownerUserId);
  return json(
    {
      access_token: at.token,
      token_type: "bearer",
      refresh_token: rt.token,
      bot_id: conn.botUserId,
      workspace_name: ws.name,
      workspace_icon: ws.icon,
      workspace_id: ws.id,
      owner: {
        type: "user",
        user: {
          object: "user",
          id: conn.ownerUserId,
          name: owner?.name ?? null,
          avatar_url: null,
          type: "person",
          person: { email: owner?.email ?? null },
        },
      },
      duplicated_template_id: null,
      request_id: uuid(),
    },
    200,
    { "cache-control": "no-store" },
  );
}

/** The client-authenticated JSON body of an OAuth request, or the error to answer. */
async function clientRequest(ctx: Ctx, req: Request): Promise<Record<string, unknown> | Response> {
  const client = clientFromBasic(req);
  if (!client || client[0] !== ctx.config.clientId || client[1] !== ctx.config.clientSecret) {
    return oauthError(401, "invalid_client");
  }
  let body: unknown;
  try {
    const text = await req.text();
    body = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    return oauthError(400, "invalid_request", "Body must be JSON.");
  }
  if (!isRecord(body)) return oauthError(400, "invalid_request", "Body must be a JSON object.");
  return body;
}

export async function revokeEndpoint(ctx: Ctx, req: Request): Promise<Response> {
  const body = await clientRequest(ctx, req);
  if (body instanceof Response) return body;
  if (typeof body.token !== "string" || body.token === "") {
    return oauthError(400, "invalid_request", "token missing");
  }
  const botUserId = ctx.store.accessTokens.get(body.token)?.botUserId ??
    ctx.store.refreshTokens.get(body.token)?.botUserId;
  if (botUserId !== undefined) {
    for (const token of ctx.store.accessTokens.values()) {
      if (token.botUserId === botUserId && token.kind === "oauth") token.revoked = true;
    }
    for (const token of ctx.store.refreshTokens.values()) {
      if (token.botUserId === botUserId) token.used = true;
    }
  }
  return json({ request_id: uuid() });
}

export async function tokenEndpoint(ctx: Ctx, req: Request): Promise<Response> {
  const body = await clientRequest(ctx, req);
  if (body instanceof Response) return body;
  const now = ctx.clock.now();

  if (body.grant_type === "authorization_code") {
    if (typeof body.code !== "string") return oauthError(400, "invalid_request", "code missing");
    const code = ctx.store.authCodes.get(body.code);
    if (!code || code.used || code.expiresAtMs <= now) return oauthError(400, "invalid_grant");
    if (code.redirectUri !== null && body.redirect_uri !== code.redirectUri) {
      return oauthError(400, "invalid_grant", "redirect_uri does not match.");
    }
    const conn = ctx.store.connections.get(code.botUserId);
    if (!conn) return oauthError(400, "invalid_grant");
    code.used = true;
    return tokenResponse(ctx, conn);
  }

  if (body.grant_type === "refresh_token") {
    if (typeof body.refresh_token !== "string") {
      return oauthError(400, "invalid_request", "refresh_token missing");
    }
    const rt = ctx.store.refreshTokens.get(body.refresh_token);
    if (!rt) return oauthError(400, "invalid_grant");
    if (rt.used) {
      ctx.counters.refreshTokenReuse++;
      return oauthError(400, "invalid_grant");
    }
    const conn = ctx.store.connections.get(rt.botUserId);
    if (!conn) return oauthError(400, "invalid_grant");
    rt.used = true;
    if (ctx.config.refreshRevokesOldAccessToken) {
      const old = ctx.store.accessTokens.get(rt.accessToken);
      if (old) old.revoked = true;
    }
    return tokenResponse(ctx, conn);
  }

  if (body.grant_type === undefined) {
    return oauthError(400, "invalid_request", "grant_type missing");
  }
  return oauthError(400, "unsupported_grant_type");
}
