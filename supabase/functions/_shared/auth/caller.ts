// Who is calling a function, and on whose behalf it may act. Three kinds of caller:
//   - `service`: a server holding the service role key (the app's backend, the bundle itself);
//   - `user`: a signed-in user with their Supabase Auth access token (the app's UI);
//   - `cron`: pg_cron through pg_net, with the `x-cron-secret` header from Vault.
// User tokens are verified locally with jose: asymmetric tokens against the project's JWKS
// (SUPABASE_JWKS, or fetched from Auth and cached), HS256 tokens with JWT_SECRET when the
// operator set it. Only an HS256 token without a configured secret costs a round trip (the API
// checks it), so functions work the same whether or not the gateway verified them (verify_jwt).
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
} from "jose";
import type { Config } from "../config.ts";
import { HttpError } from "../http/errors.ts";
import { timingSafeEqual } from "../security/crypto.ts";

export type Caller =
  | { kind: "service" }
  | { kind: "cron" }
  | { kind: "user"; userId: string; jwt: string };

export type CallerKind = Caller["kind"];

function bearerToken(request: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  return match ? match[1] : null;
}

const invalidJwt = () =>
  new HttpError(401, "invalid_jwt", "The access token is invalid or expired.");

let remoteJwks: { url: string; get: ReturnType<typeof createRemoteJWKSet> } | undefined;

function jwksFor(config: Config) {
  if (config.SUPABASE_JWKS) return createLocalJWKSet(JSON.parse(config.SUPABASE_JWKS));
  const url = `${config.SUPABASE_URL.replace(/\/+$/, "")}/auth/v1/.well-known/jwks.json`;
  if (remoteJwks?.url !== url) remoteJwks = { url, get: createRemoteJWKSet(new URL(url)) };
  return remoteJwks.get;
}

/** Asks the API whose token this is; a bad signature or an expired token is a 401 there. */
async function claimsFromApi(
  config: Config,
  jwt: string,
  fetchImpl: typeof fetch,
): Promise<{ sub: string | null; role: string | null }> {
  const response = await fetchImpl(`${config.SUPABASE_URL}/rest/v1/rpc/whoami`, {
    method: "POST",
    headers: {
      apikey: config.SUPABASE_ANON_KEY,
      authorization: `Bearer ${jwt}`,
      "content-type": "application/json",
    },
    body: "{}",
  });
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw invalidJwt();
  }
  if (!response.ok) {
    throw new Error(`whoami answered ${response.status}: ${await response.text()}`);
  }
  return await response.json();
}

/** The token's verified claims: locally when possible, else by asking the API. */
export async function verifiedClaims(
  config: Config,
  jwt: string,
  fetchImpl: typeof fetch = fetch,
): Promise<{ sub: string | null; role: string | null }> {
  let algorithm: string | undefined;
  try {
    algorithm = decodeProtectedHeader(jwt).alg;
  } catch {
    throw invalidJwt();
  }
  let payload: JWTPayload;
  try {
    if (algorithm === "HS256") {
      if (!config.JWT_SECRET) return await claimsFromApi(config, jwt, fetchImpl);
      ({ payload } = await jwtVerify(jwt, new TextEncoder().encode(config.JWT_SECRET), {
        algorithms: ["HS256"],
      }));
    } else {
      ({ payload } = await jwtVerify(jwt, jwksFor(config)));
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw invalidJwt();
  }
  return {
    sub: typeof payload.sub === "string" ? payload.sub : null,
    role: typeof payload.role === "string" ? payload.role : null,
  };
}

/** Authenticates the request as one of the `allowed` kinds of caller (the result says which). */
export async function authenticateCaller<K extends CallerKind>(
  request: Request,
  config: Config,
  allowed: readonly K[],
  fetchImpl: typeof fetch = fetch,
): Promise<Extract<Caller, { kind: K }>> {
  return await identify(request, config, allowed, fetchImpl) as Extract<Caller, { kind: K }>;
}

async function identify(
  request: Request,
  config: Config,
  allowed: readonly CallerKind[],
  fetchImpl: typeof fetch,
): Promise<Caller> {
  const cronSecret = request.headers.get("x-cron-secret");
  if (cronSecret !== null) {
    if (
      allowed.includes("cron") && config.CRON_SECRET &&
      await timingSafeEqual(cronSecret, config.CRON_SECRET)
    ) {
      return { kind: "cron" };
    }
    throw new HttpError(401, "invalid_cron_secret", "The cron secret is not valid here.");
  }

  const token = bearerToken(request);
  if (!token) {
    throw new HttpError(401, "missing_authorization", "Send an Authorization: Bearer header.");
  }
  if (await timingSafeEqual(token, config.SUPABASE_SERVICE_ROLE_KEY)) {
    if (allowed.includes("service")) return { kind: "service" };
    throw new HttpError(403, "forbidden", "The service role may not call this function.");
  }

  const claims = await verifiedClaims(config, token, fetchImpl);
  // The anon key proves only that the caller knows the project: no identity, so sign in first.
  if (claims.role === "anon") {
    throw new HttpError(401, "sign_in_required", "Sign in and send the user's access token.");
  }
  if (claims.role === "service_role" && allowed.includes("service")) return { kind: "service" };
  if (claims.role === "authenticated" && claims.sub && allowed.includes("user")) {
    return { kind: "user", userId: claims.sub, jwt: token };
  }
  throw new HttpError(403, "forbidden", "This caller may not call this function.");
}

/**
 * The one ownership rule: a user acts only on their own user_id (naming another is 403); a
 * server (service role) must name the user it acts for (400 without one).
 */
export function actingUserId(
  caller: Exclude<Caller, { kind: "cron" }>,
  requestedUserId: string | undefined,
  action: string,
): string {
  if (caller.kind === "user") {
    if (requestedUserId !== undefined && requestedUserId !== caller.userId) {
      throw new HttpError(403, "forbidden", `A user can ${action} only for themselves.`);
    }
    return caller.userId;
  }
  if (requestedUserId === undefined) {
    throw new HttpError(400, "user_id_required", `Send the user_id to ${action} for.`);
  }
  return requestedUserId;
}
