// A Calendly client for a stored connection: Calendly's OAuth client and endpoints from the
// configuration, tokens from the connection's row through the shared, rotation-safe token
// source (a single-use refresh token is stored before the new access token is used).
import type { Clock } from "../../clock.ts";
import { connectionTokenSource } from "../../sync/credentials.ts";
import type { AdapterContext, ConnectionRecord } from "../../sync/types.ts";
import { CalendlyClient, calendlyTokenEndpoint } from "./client.ts";
import { calendlySettings } from "./config.ts";

export function calendlyClientFor(
  context: AdapterContext & { clock: Clock },
  connection: ConnectionRecord,
): CalendlyClient {
  const config = calendlySettings(context.config);
  const tokens = connectionTokenSource(
    context.db,
    context.config,
    connection,
    calendlyTokenEndpoint(config, context.clock).refresh,
    context.clock,
  );
  return new CalendlyClient({ config, tokens, clock: context.clock });
}
