// Calendly OAuth (auth.calendly.com): POST /oauth/token (authorization_code and refresh_token
// grants), POST /oauth/revoke, and bearer-token checks for the API host.
//
// Invariants:
// - Refresh tokens are single-use: a successful refresh marks the presented token `used` at once
//   and returns a new one. Presenting a used, revoked or unknown token → 400 invalid_grant; a used
//   one is also counted in counters.refreshTokenReuse.
// - Authorization codes are single-use, bound to their redirect_uri and expire after
//   config.authCodeTtlSeconds of emulator time.
// - At most config.tokenGrantsPerMinute successful grants per user per minute (429 beyond); a
//   rejected grant consumes nothing (the refresh token stays valid).
// - Access tokens expire on the emulator clock.

import type { Ctx } from "./context.ts";
import {
  type AuthFailure,
  INVALID_CLIENT,
  INVALID_GRANT,
  oauthError,
  unauthenticated,
} from "./errors.ts";
import type { AccessToken, RefreshToken, User } from "./store.ts";
import { json, randomToken, unixSeconds } from "./util.ts";

/** Form body (the documented encoding); a JSON body is accepted too. */
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

/** HTTP Basic `client_id:client_secret` wins over body parameters. */
function clientMatches(ctx: Ctx, req: Request, params: URLSearchParams): boolean {
  let id = params.get("client_id");
  let secret = params.get("client_secret");
  const basic = /^Basic\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
  if (basic) {
    try {
      const decoded = atob(basic[1]);
      const colon = decoded.indexOf(":");
      id = decodeURIComponent(colon < 0 ? decoded : decoded.slice(0, colon));
      secret = colon < 0 ? "" : decodeURIComponent(decoded.slice(colon + 1));
    } catch {
      return false;
    }
  }
  return id === ctx.config.clientId && secret === ctx.config.clientSecret;
}

function issuePair(ctx: Ctx, user: User): Response {
  const now = ctx.clock.now();
  const rt = ctx.store.issueRefreshToken(user.uuid, now);
  const at: AccessToken = {
    token: `emu-at-${randomToken()}`,
    userUuid: user.uuid,
    refreshToken: rt.token,
    expiresAtMs: now + ctx.config.accessTokenTtlSeconds * 1000,
    revoked: false,
  };
  ctx.store.accessTokens.set(at.token, at);
  return json(
    {
      token_type: "Bearer",
      access_token: at.token,
      refresh_token: rt.token,
      scope: ctx.config.scope,
      created_at: unixSeconds(now),
      expires_in: ctx.config.accessTokenTtlSeconds,
      owner: user.uri,
      organization: ctx.store.orgs.get(user.orgUuid)!.uri,
    },
    200,
    { "cache-control": "no-store", pragma: "no-cache" },
  );
}

/** 429 when the user already received tokenGrantsPerMinute tokens in this minute. */
function grantLimited(ctx: Ctx, user: User): Response | undefined {
  const limit = ctx.config.tokenGrantsPerMinute;
  if (limit <= 0) return undefined;
  const state = ctx.grantLimiter.consume(user.uuid, limit, ctx.clock.now(), 60_000);
  if (state.allowed) return undefined;
  return json(
    {
      title: "Too Many Requests",
      message: `Only ${limit} OAuth tokens per user can be requested within a span of 1 minute.`,
    },
    429,
    { "retry-after": String(state.resetSeconds) },
  );
}

/** POST /oauth/token */
export async function tokenEndpoint(ctx: Ctx, req: Request): Promise<Response> {
  const params = await readParams(req);
  if (!clientMatches(ctx, req, params)) return oauthError(401, "invalid_client", INVALID_CLIENT);
  const grantType = params.get("grant_type");
  if (!grantType) {
    return oauthError(400, "invalid_request", "Missing required parameter: grant_type.");
  }
  const { store } = ctx;
  const now = ctx.clock.now();

  if (grantType === "refresh_token") {
    const token = params.get("refresh_token");
    if (!token) {
      return oauthError(400, "invalid_request", "Missing required parameter: refresh_token.");
    }
    const rt = store.refreshTokens.get(token);
    if (!rt || rt.state !== "active") {
      if (rt?.state === "used") ctx.counters.refreshTokenReuse++;
      return oauthError(400, "invalid_grant", INVALID_GRANT);
    }
    const user = store.users.get(rt.userUuid)!;
    const limited = grantLimited(ctx, user);
    if (limited) return limited;
    rt.state = "used";
    rt.endedMs = now;
    if (ctx.config.revokeAccessTokenOnRefresh) {
      for (const at of store.accessTokens.values()) {
        if (at.refreshToken === rt.token) at.revoked = true;
      }
    }
    return issuePair(ctx, user);
  }

  if (grantType === "authorization_code") {
    const code = params.get("code");
    const redirectUri = params.get("redirect_uri");
    if (!code) return oauthError(400, "invalid_request", "Missing required parameter: code.");
    if (!redirectUri) {
      return oauthError(400, "invalid_request", "Missing required parameter: redirect_uri.");
    }
    const entry = store.authCodes.get(code);
    if (!entry || entry.used || entry.expiresAtMs <= now || entry.redirectUri !== redirectUri) {
      return oauthError(400, "invalid_grant", INVALID_GRANT);
    }
    const user = store.users.get(entry.userUuid)!;
    const limited = grantLimited(ctx, user);
    if (limited) return limited;
    entry.used = true;
    return issuePair(ctx, user);
  }

  return oauthError(
    400,
    "unsupported_grant_type",
    "The authorization grant type is not supported by the authorization server.",
  );
}

/** Revoking a refresh token kills the access tokens issued with it, and vice versa. */
export function revokeToken(ctx: Ctx, token: string): boolean {
  const { store } = ctx;
  const now = ctx.clock.now();
  const at = store.accessTokens.get(token);
  const rt: RefreshToken | undefined = store.refreshTokens.get(at?.refreshToken ?? token);
  if (!at && !rt) return false;
  if (at) at.revoked = true;
  if (rt) {
    if (rt.state === "active") {
      rt.state = "revoked";
      rt.endedMs = now;
    }
    for (const other of store.accessTokens.values()) {
      if (other.refreshToken === rt.token) other.revoked = true;
    }
  }
  return true;
}

/** POST /oauth/revoke (RFC 7009: unknown tokens are not an error). */
export async function revokeEndpoint(ctx: Ctx, req: Request): Promise<Response> {
  const params = await readParams(req);
  if (!clientMatches(ctx, req, params)) return oauthError(401, "invalid_client", INVALID_CLIENT);
  const token = params.get("token");
  if (!token) return oauthError(400, "invalid_request", "Missing required parameter: token.");
  revokeToken(ctx, token);
  return json({}, 200, { "cache-control": "no-store" });
}

/** Why a bearer token does not authenticate, or undefined when it does. */
function check(ctx: Ctx, at: AccessToken | undefined): AuthFailure | undefined {
  if (!at || !ctx.store.users.has(at.userUuid)) return "invalid";
  if (at.revoked) return "revoked";
  if (at.expiresAtMs <= ctx.clock.now()) return "expired";
  return undefined;
}

function bearer(req: Request): string {
  return /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1] ?? "";
}

/** The calling user of an API request, or the 401 to answer. */
export function authenticate(ctx: Ctx, req: Request): User | Response {
  const at = ctx.store.accessTokens.get(bearer(req));
  const failure = check(ctx, at);
  if (failure) return unauthenticated(failure);
  return ctx.store.users.get(at!.userUuid)!;
}

/** The user a request's token belongs to, if it authenticates (for rate-limit headers). */
export function peekUser(ctx: Ctx, req: Request): User | undefined {
  const at = ctx.store.accessTokens.get(bearer(req));
  return check(ctx, at) ? undefined : ctx.store.users.get(at!.userUuid);
}

export function expireAllAccessTokens(ctx: Ctx): number {
  const now = ctx.clock.now();
  let n = 0;
  for (const at of ctx.store.accessTokens.values()) {
    if (at.expiresAtMs > now && !at.revoked) n++;
    at.expiresAtMs = Math.min(at.expiresAtMs, now);
  }
  return n;
}
