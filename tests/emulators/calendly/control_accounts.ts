// Control API, accounts side: users (and their organizations), authorization codes, and
// refresh/access-token manipulation. Plays the part of a user connecting the app: POST /users
// mints a refresh token for the app's OAuth client as if the consent flow had just run.

import type { Ctx } from "./context.ts";
import { expireAllAccessTokens, revokeToken } from "./oauth.ts";
import { renderUser } from "./resources.ts";
import { ControlError } from "./scheduling.ts";
import type { Role, User } from "./store.ts";
import { randomToken, toIso } from "./util.ts";

const ROLES = new Set(["owner", "admin", "user"]);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const optString = (b: Record<string, unknown>, k: string): string | undefined => {
  const v = b[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new ControlError(400, `${k} must be a string`);
  return v;
};

/** POST /__emulator/users */
export function createUser(ctx: Ctx, b: Record<string, unknown>) {
  const { store } = ctx;
  const now = ctx.clock.now();
  const email = optString(b, "email");
  if (!email || !email.includes("@")) throw new ControlError(400, "email required");
  let user = store.userByEmail(email);
  if (!user) {
    const timezone = optString(b, "timezone") ?? "UTC";
    if (!isTimeZone(timezone)) throw new ControlError(400, "invalid timezone");
    const orgRef = optString(b, "organization");
    let org = orgRef === undefined ? undefined : store.findOrg(orgRef);
    if (orgRef !== undefined && !org) throw new ControlError(404, "unknown organization");
    const role = optString(b, "role") ?? (org ? "user" : "owner");
    if (!ROLES.has(role)) throw new ControlError(400, "role must be owner, admin or user");
    const name = optString(b, "name") ??
      email.split("@")[0].replace(/[._-]+/g, " ").replace(/\b\w/g, (c) => c.toUpperCase());
    org ??= store.createOrg(
      optString(b, "organization_name") ?? `${name}'s organization`,
      optString(b, "plan") ?? "teams",
      now,
    );
    user = store.createUser({ email, name, timezone, orgUuid: org.uuid, role: role as Role }, now);
  }
  const rt = store.issueRefreshToken(user.uuid, now);
  return {
    uri: user.uri,
    uuid: user.uuid,
    organization: store.orgs.get(user.orgUuid)!.uri,
    email: user.email,
    name: user.name,
    role: user.role,
    refresh_token: rt.token,
  };
}

/** GET /__emulator/users */
export function listUsers(ctx: Ctx) {
  const { store } = ctx;
  return {
    users: [...store.users.values()].map((u) => ({
      ...renderUser(store, u),
      role: u.role,
      refresh_tokens: [...store.refreshTokens.values()]
        .filter((t) => t.userUuid === u.uuid)
        .map((t) => ({ refresh_token: t.token, state: t.state, issued_at: toIso(t.issuedMs) })),
    })),
  };
}

export function requireUser(ctx: Ctx, ref: unknown, what = "user"): User {
  const user = ctx.store.findUser(ref);
  if (!user) throw new ControlError(404, `unknown ${what}`);
  return user;
}

/** POST /__emulator/auth_codes {code?, redirect_uri, user|email} */
export function createAuthCode(ctx: Ctx, b: Record<string, unknown>) {
  const redirectUri = optString(b, "redirect_uri");
  if (!redirectUri) throw new ControlError(400, "redirect_uri required");
  const user = requireUser(ctx, b.user ?? b.email);
  const code = optString(b, "code") ?? randomToken(32);
  if (ctx.store.authCodes.has(code)) throw new ControlError(409, "code already registered");
  const expiresAtMs = ctx.clock.now() + ctx.config.authCodeTtlSeconds * 1000;
  ctx.store.authCodes.set(code, {
    code,
    userUuid: user.uuid,
    redirectUri,
    expiresAtMs,
    used: false,
  });
  return { code, user: user.uri, redirect_uri: redirectUri, expires_at: toIso(expiresAtMs) };
}

/** POST /__emulator/refresh_tokens/revoke {refresh_token} (also accepts access tokens). */
export function revokeRefresh(ctx: Ctx, b: Record<string, unknown>) {
  const token = optString(b, "refresh_token") ?? optString(b, "token");
  if (!token) throw new ControlError(400, "refresh_token required");
  if (!revokeToken(ctx, token)) throw new ControlError(404, "unknown token");
  return { revoked: true };
}

/** POST /__emulator/access_tokens/expire */
export function expireAccess(ctx: Ctx) {
  return { expired: expireAllAccessTokens(ctx) };
}
