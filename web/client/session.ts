// Whose session the client acts with. Either the app's own supabase-js client, signed in with
// Supabase Auth (the token comes from `auth.getSession()`, which also refreshes it), or an
// access token the host hands over (a string or a function that returns the current one).
// Every call first asks for the token here, so "not signed in" is an error before anything is
// sent: without a session supabase-js would send the anon key, and the user's reads would
// come back empty instead of failing.
import type { SupabaseClient } from "@supabase/supabase-js";
import { decodeJwt } from "jose";
import { notSignedIn } from "./errors.ts";

export type AccessTokenSource = string | (() => Promise<string | null> | string | null);

export interface SignedInUser {
  id: string;
  email: string | null;
  /** When the access token expires. */
  expiresAt: Date | null;
}

/** Seconds of clock skew tolerated before a token counts as expired here (the API decides). */
const EXPIRY_SKEW_SECONDS = 5;

/** The token's user, or a not_signed_in error when it is malformed or expired. */
export function userOfToken(token: string, now = Date.now()): SignedInUser {
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(token);
  } catch {
    return notSignedIn("The access token is not a JWT: sign in again.");
  }
  if (typeof claims.sub !== "string" || claims.sub === "") {
    return notSignedIn("The access token names no user (an API key is not a session).");
  }
  if (typeof claims.exp === "number" && claims.exp + EXPIRY_SKEW_SECONDS < now / 1000) {
    return notSignedIn("Your session has expired: sign in again.");
  }
  return {
    id: claims.sub,
    email: typeof claims.email === "string" ? claims.email : null,
    expiresAt: typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null,
  };
}

/**
 * Reads the current access token: from the host-provided source when there is one, else from
 * the app's Supabase Auth session (`supabase`); with neither there is no session.
 */
export function tokenReader(
  source: AccessTokenSource | undefined,
  supabase?: SupabaseClient,
): () => Promise<string | null> {
  if (typeof source === "string") return () => Promise.resolve(source);
  if (typeof source === "function") return async () => await source();
  if (!supabase) return () => Promise.resolve(null);
  return async () => {
    const { data, error } = await supabase.auth.getSession();
    if (error) return null;
    return data.session?.access_token ?? null;
  };
}
