// A Google Calendar client for a stored connection: Google's OAuth client and endpoints from
// the configuration, tokens from the connection's row through the shared, rotation-safe token
// source (sync/credentials.ts).
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Clock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import { connectionTokenSource } from "../../sync/credentials.ts";
import type { ConnectionRecord } from "../../sync/types.ts";
import { GoogleCalendarClient } from "./calendar_client.ts";
import { googleSettings } from "./config.ts";
import { GoogleOAuth } from "./oauth.ts";

export function googleClientFor(
  context: { db: SupabaseClient; config: Config; clock: Clock },
  connection: ConnectionRecord,
): GoogleCalendarClient {
  const google = googleSettings(context.config);
  const oauth = new GoogleOAuth({ config: google, clock: context.clock });
  const tokens = connectionTokenSource(
    context.db,
    context.config,
    connection,
    (refreshToken) => oauth.refreshAccessToken(refreshToken),
    context.clock,
  );
  return new GoogleCalendarClient({ config: google, tokens, clock: context.clock });
}
