// Who is calling a function. Three kinds of caller reach this bundle:
//   - `service`: a server holding the service role key (the sync paths, the app's backend);
//   - `user`: a signed-in user with their Supabase Auth JWT (the app's UI);
//   - `cron`: pg_cron through pg_net, with the `x-cron-secret` header from Vault.
// User JWTs are verified by the database's API (PostgREST checks the signature with the
// project's JWT secret), so functions work the same whether or not the gateway verified them
// (verify_jwt) and need no copy of the JWT secret.
import { HttpError } from "../http/responses.ts";
import type { FunctionEnv } from "../env.ts";
import { constantTimeEqual } from "./crypto.ts";

export type Caller =
  | { kind: "service" }
  | { kind: "cron" }
  | { kind: "user"; userId: string; jwt: string };

export type CallerKind = Caller["kind"];

function bearerToken(request: Request): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  return match ? match[1] : null;
}

/** Asks PostgREST whose JWT this is; a bad signature or expired token is a 401 there. */
async function verifyWithDatabase(
  env: FunctionEnv,
  jwt: string,
  fetchImpl: typeof fetch,
): Promise<{ sub: string | null; role: string | null }> {
  const response = await fetchImpl(`${env.SUPABASE_URL}/rest/v1/rpc/whoami`, {
    method: "POST",
    headers: {
      apikey: env.SUPABASE_ANON_KEY,
      authorization: `Bearer ${jwt}`,
      "content-type": "application/json",
    },
    body: "{}",
  });
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new HttpError(401, "invalid_jwt", "The access token is invalid or expired.");
  }
  if (!response.ok) {
    throw new Error(`whoami answered ${response.status}: ${await response.text()}`);
  }
  return await response.json();
}

export async function authenticateCaller(
  request: Request,
  env: FunctionEnv,
  allowed: readonly CallerKind[],
  fetchImpl: typeof fetch = fetch,
): Promise<Caller> {
  const cronSecret = request.headers.get("x-cron-secret");
  if (cronSecret !== null) {
    if (
      allowed.includes("cron") && env.CRON_SECRET && constantTimeEqual(cronSecret, env.CRON_SECRET)
    ) {
      return { kind: "cron" };
    }
    throw new HttpError(401, "invalid_cron_secret", "The cron secret is not valid here.");
  }

  const token = bearerToken(request);
  if (!token) {
    throw new HttpError(401, "missing_authorization", "Send an Authorization: Bearer header.");
  }
  if (constantTimeEqual(token, env.SUPABASE_SERVICE_ROLE_KEY)) {
    if (allowed.includes("service")) return { kind: "service" };
    throw new HttpError(403, "forbidden", "The service role may not call this function.");
  }

  const claims = await verifyWithDatabase(env, token, fetchImpl);
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
