// supabase-js for functions: the service client (bypasses RLS; used only after the caller has
// been authenticated; it has no session of its own) and ONE way to call a SQL function
// that turns a PostgREST error into a DbError carrying the SQLSTATE, which the HTTP layer maps
// (P0002 → 404, 22023 → 400; see http/errors.ts).
import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import type { Config } from "../config.ts";

let serviceClient: SupabaseClient | undefined;

export function createServiceClient(config: Config): SupabaseClient {
  // `accessToken`: every request carries the service key as it is. Without it, supabase-js
  // asks its auth client for a session (behind a lock) before each request, for a client that
  // never signs in.
  const serviceKey = config.SUPABASE_SERVICE_ROLE_KEY;
  serviceClient ??= createClient(config.SUPABASE_URL, serviceKey, {
    accessToken: () => Promise.resolve(serviceKey),
    db: { schema: "public" },
  });
  return serviceClient;
}

/** A failed database call: `code` is the SQLSTATE (or a PGRST code), `hint` a machine reason. */
export class DbError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
    readonly hint: string | null,
  ) {
    super(message);
    this.name = "DbError";
  }
}

interface PostgrestErrorLike {
  message: string;
  code?: string;
  hint?: string | null;
}

/** Throws the PostgREST error of a supabase-js result, or returns its data. */
export function unwrap<T>(result: { data: T; error: PostgrestErrorLike | null }): T {
  if (result.error) {
    const { message, code, hint } = result.error;
    throw new DbError(
      `database error${code ? ` ${code}` : ""}: ${message}`,
      code ?? null,
      hint ?? null,
    );
  }
  return result.data;
}

/** Calls a SQL function (one round trip, one transaction) and returns its result. */
export async function rpc<T = unknown>(
  db: SupabaseClient,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  return unwrap(await db.rpc(name, args)) as T;
}
