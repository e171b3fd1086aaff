// supabase-js clients for functions. The service client bypasses RLS and is used only after the
// caller has been authenticated; it never persists or refreshes a session (no browser here).
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { FunctionEnv } from "../env.ts";

let serviceClient: SupabaseClient | undefined;

export function createServiceClient(env: FunctionEnv): SupabaseClient {
  serviceClient ??= createClient(env.SUPABASE_URL, env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    db: { schema: "public" },
  });
  return serviceClient;
}

/** A client that acts as the signed-in user: PostgREST verifies the JWT and RLS applies. */
export function createUserClient(env: FunctionEnv, userJwt: string): SupabaseClient {
  return createClient(env.SUPABASE_URL, env.SUPABASE_ANON_KEY, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { headers: { Authorization: `Bearer ${userJwt}` } },
  });
}

/** Throws the PostgREST error of a supabase-js result, or returns its data. */
export function unwrap<T>(
  result: { data: T; error: { message: string; code?: string } | null },
): T {
  if (result.error) {
    throw new Error(
      `database error${result.error.code ? ` ${result.error.code}` : ""}: ${result.error.message}`,
    );
  }
  return result.data;
}
