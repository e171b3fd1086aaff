// Where the status page gets its Supabase project and the user's session, so it can be hosted
// anywhere: a config object the host page sets (an app passes its own supabase-js client or a
// function returning the current access token), else the URL fragment, else the query string.
// The fragment is the place for a token: browsers never send it to the server hosting the page.
import type { AccessTokenSource } from "../client/mod.ts";
import type { SupabaseClient } from "@supabase/supabase-js";

export interface StatusPageConfig {
  /** The project's URL, e.g. https://<ref>.supabase.co. */
  supabaseUrl: string;
  /** The project's anon (publishable) key. */
  anonKey: string;
  /** The user's access token, or a function returning the current one. */
  accessToken?: AccessTokenSource;
  /** Instead of a token: the app's supabase-js client, signed in with Supabase Auth. */
  supabase?: SupabaseClient;
  /** Listen to Supabase Realtime (needs the tables published; polling continues anyway). */
  realtime?: boolean;
  /** How often to read again without Realtime, in ms (default 2000). */
  pollMs?: number;
}

export type ConfigResult =
  | { ok: true; config: StatusPageConfig }
  | { ok: false; missing: string[] };

/** The names in the fragment or query string (snake_case, like the rest of the API). */
export const URL_PARAMETERS = {
  supabaseUrl: "supabase_url",
  anonKey: "anon_key",
  accessToken: "access_token",
  realtime: "realtime",
  pollMs: "poll_ms",
} as const;

function fromParameters(parameters: URLSearchParams): Partial<StatusPageConfig> {
  const read = (name: string) => parameters.get(name) ?? undefined;
  const config: Partial<StatusPageConfig> = {
    supabaseUrl: read(URL_PARAMETERS.supabaseUrl),
    anonKey: read(URL_PARAMETERS.anonKey),
    accessToken: read(URL_PARAMETERS.accessToken),
  };
  const realtime = read(URL_PARAMETERS.realtime);
  if (realtime !== undefined) config.realtime = ["1", "true", "on", "yes"].includes(realtime);
  const pollMs = Number(read(URL_PARAMETERS.pollMs));
  if (Number.isFinite(pollMs) && pollMs > 0) config.pollMs = pollMs;
  return config;
}

/** The first value that is set, per key: the object, then the fragment, then the query. */
export function resolveConfig(
  location: { hash: string; search: string },
  given: Partial<StatusPageConfig> = {},
): ConfigResult {
  const layers = [
    given,
    fromParameters(new URLSearchParams(location.hash.replace(/^#/, ""))),
    fromParameters(new URLSearchParams(location.search)),
  ];
  const merged: Partial<StatusPageConfig> = {};
  for (const layer of layers.reverse()) {
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined && value !== "") {
        (merged as Record<string, unknown>)[key] = value;
      }
    }
  }
  if (merged.supabase) return { ok: true, config: merged as StatusPageConfig };
  const missing = (["supabaseUrl", "anonKey"] as const).filter((key) => !merged[key]);
  if (missing.length) return { ok: false, missing: missing.map((key) => URL_PARAMETERS[key]) };
  return { ok: true, config: merged as StatusPageConfig };
}
