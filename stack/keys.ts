// The local stack's API keys: long-lived HS256 JWTs for the `anon` and `service_role` roles,
// signed with the stack's JWT secret, shaped like the keys `supabase status` prints.
import { jwtVerify, SignJWT } from "jose";

// Same issuer and expiry as the Supabase CLI's local keys, so they stay stable for a secret.
const LOCAL_ISSUER = "supabase-demo";
const LOCAL_EXPIRY = 1983812996;

function secretBytes(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

export function signRoleKey(role: "anon" | "service_role", secret: string): Promise<string> {
  return new SignJWT({ role })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(LOCAL_ISSUER)
    .setIssuedAt(1641769200)
    .setExpirationTime(LOCAL_EXPIRY)
    .sign(secretBytes(secret));
}

/** A user's access token as Supabase Auth would issue it (role `authenticated`, `sub` = user id). */
export function signUserToken(
  userId: string,
  secret: string,
  options: { email?: string; expiresInSeconds?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: "authenticated", aud: "authenticated", email: options.email })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuer(LOCAL_ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 3600))
    .sign(secretBytes(secret));
}

/** Verifies an HS256 JWT as the hosted gateway does for functions with `verify_jwt = true`. */
export async function verifyJwt(token: string, secret: string): Promise<Record<string, unknown>> {
  const { payload } = await jwtVerify(token, secretBytes(secret), { algorithms: ["HS256"] });
  return payload as Record<string, unknown>;
}

if (import.meta.main) {
  const secret = Deno.env.get("JWT_SECRET");
  if (!secret) throw new Error("JWT_SECRET is not set");
  console.log(`ANON_KEY=${await signRoleKey("anon", secret)}`);
  console.log(`SERVICE_ROLE_KEY=${await signRoleKey("service_role", secret)}`);
}
