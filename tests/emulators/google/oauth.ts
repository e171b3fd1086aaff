// Google OAuth 2.0 token endpoint (oauth2.googleapis.com/token) and bearer-token checks.
// Refresh tokens belong to an account; access tokens expire on the emulator clock.
//
// Invariant: revocation is per grant and final. Revoking a refresh token (or any access token
// minted from it) through /revoke or the control API kills every access token of that grant
// (401 from then on) and makes later refreshes answer 400 invalid_grant; the refresh token stays
// listed with `revoked: true` so tests can tell it happened.

import type { Ctx } from "./context.ts";
import { authError, oauthError } from "./errors.ts";
import type { AccessToken, RefreshToken } from "./store.ts";
import { empty, json, randomToken } from "./util.ts";

/** Create (or register a caller-chosen) refresh token for an account. */
export function issueRefreshToken(ctx: Ctx, email: string, token?: string): RefreshToken {
  const rt: RefreshToken = {
    token: token ?? `1//emu-${randomToken(40)}`,
    email,
    scope: ctx.config.defaultScope,
    revoked: false,
  };
  ctx.store.refreshTokens.set(rt.token, rt);
  return rt;
}

function issueAccessToken(ctx: Ctx, rt: RefreshToken): AccessToken {
  const at: AccessToken = {
    token: `ya29.emu-${randomToken(48)}`,
    email: rt.email,
    refreshToken: rt.token,
    scope: rt.scope,
    expiresAtMs: ctx.clock.now() + ctx.config.accessTokenTtlSeconds * 1000,
  };
  ctx.store.accessTokens.set(at.token, at);
  return at;
}

async function readParams(req: Request): Promise<URLSearchParams> {
  const text = await req.text();
  if ((req.headers.get("content-type") ?? "").includes("application/json")) {
    try {
      const obj = JSON.parse(text) as Record<string, unknown>;
      return new URLSearchParams(Object.entries(obj).map(([k, v]) => [k, String(v)]));
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(text);
}

/** POST /token */
export async function tokenEndpoint(ctx: Ctx, req: Request): Promise<Response> {
  const params = await readParams(req);
  let clientId = params.get("client_id");
  let clientSecret = params.get("client_secret");
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.get("authorization") ?? "");
  if (basic) {
    try {
      const [id, secret] = atob(basic[1]).split(":");
      clientId = decodeURIComponent(id);
      clientSecret = decodeURIComponent(secret ?? "");
    } catch {
      clientId = "";
    }
  }
  const grantType = params.get("grant_type");
  if (!grantType) {
    return oauthError(400, "invalid_request", "Missing required parameter: grant_type");
  }
  if (clientId !== ctx.config.clientId || clientSecret !== ctx.config.clientSecret) {
    return oauthError(401, "invalid_client", "The OAuth client was not found.");
  }
  const invalidGrant = (d = "Token has been expired or revoked.") =>
    oauthError(400, "invalid_grant", d);

  if (grantType === "refresh_token") {
    const token = params.get("refresh_token");
    if (!token) {
      return oauthError(400, "invalid_request", "Missing required parameter: refresh_token");
    }
    const rt = ctx.store.refreshTokens.get(token);
    if (!rt || rt.revoked) return invalidGrant();
    const at = issueAccessToken(ctx, rt);
    // Google does not rotate refresh tokens: no refresh_token in the refresh response.
    return json(
      {
        access_token: at.token,
        expires_in: ctx.config.accessTokenTtlSeconds,
        scope: at.scope,
        token_type: "Bearer",
      },
      200,
      { "cache-control": "no-store" },
    );
  }

  if (grantType === "authorization_code") {
    const code = params.get("code");
    const redirectUri = params.get("redirect_uri");
    if (!code) return oauthError(400, "invalid_request", "Missing required parameter: code");
    if (!redirectUri) {
      return oauthError(400, "invalid_request", "Missing required parameter: redirect_uri");
    }
    const entry = ctx.store.authCodes.get(code);
    if (!entry || entry.used) return invalidGrant("Malformed auth code.");
    if (entry.redirectUri !== redirectUri) return invalidGrant("Bad Request");
    entry.used = true; // single use, even when the exchange below fails
    const rt = ctx.store.refreshTokens.get(entry.refreshToken);
    if (!rt || rt.revoked) return invalidGrant();
    const at = issueAccessToken(ctx, rt);
    return json(
      {
        access_token: at.token,
        expires_in: ctx.config.accessTokenTtlSeconds,
        refresh_token: rt.token,
        scope: at.scope,
        token_type: "Bearer",
      },
      200,
      { "cache-control": "no-store" },
    );
  }

  return oauthError(400, "unsupported_grant_type", `Invalid grant_type: ${grantType}`);
}

/** POST /revoke?token=… (oauth2.googleapis.com/revoke): revokes a refresh or access token. */
export async function revokeEndpoint(ctx: Ctx, req: Request, url: URL): Promise<Response> {
  const params = await readParams(req);
  const token = url.searchParams.get("token") ?? params.get("token") ?? "";
  const at = ctx.store.accessTokens.get(token);
  const rt = ctx.store.refreshTokens.get(at?.refreshToken ?? token);
  if (!rt) return oauthError(400, "invalid_token", "Bad Request");
  revokeRefreshToken(ctx, rt.token, "revoke_endpoint");
  return empty(200);
}

/** Revoking a grant also kills the access tokens minted from it. */
export function revokeRefreshToken(
  ctx: Ctx,
  token: string,
  via: "revoke_endpoint" | "control" = "control",
): boolean {
  const rt = ctx.store.refreshTokens.get(token);
  if (!rt) return false;
  if (!rt.revoked) {
    rt.revoked = true;
    rt.revokedMs = ctx.clock.now();
    rt.revokedVia = via;
  }
  for (const [k, at] of ctx.store.accessTokens) {
    if (at.refreshToken === token) ctx.store.accessTokens.delete(k);
  }
  return true;
}

export function expireAllAccessTokens(ctx: Ctx): number {
  const now = ctx.clock.now();
  let n = 0;
  for (const at of ctx.store.accessTokens.values()) {
    if (at.expiresAtMs > now) n++;
    at.expiresAtMs = Math.min(at.expiresAtMs, now);
  }
  return n;
}

/** Resolve the caller of a Calendar request; a Response means 401. */
export function authenticate(ctx: Ctx, req: Request, url: URL): AccessToken | Response {
  const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  const token = header?.[1] ?? url.searchParams.get("access_token") ?? "";
  const at = ctx.store.accessTokens.get(token);
  if (!at || at.expiresAtMs <= ctx.clock.now()) return authError();
  return at;
}
