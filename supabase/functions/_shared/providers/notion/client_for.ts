// A Notion client for a stored connection: Notion's endpoints from the configuration, tokens from
// the connection's row through the shared, rotation-safe token source (an internal token is a
// stored access token that never expires and has no refresh token: a 401 marks the connection
// as needing re-authorisation; an OAuth refresh token is single-use and stored before the new
// access token is used).
// Invariant: the clients of one integration bot in this instance share ONE pacer, so concurrent
// syncs of the same connection's data sources never exceed ~3 requests per second together.
import type { Clock } from "../../clock.ts";
import { connectionTokenSource } from "../../sync/credentials.ts";
import type { AdapterContext, ConnectionRecord } from "../../sync/types.ts";
import { NotionClient, notionTokenEndpoint, RequestPacer } from "./client.ts";
import { notionSettings } from "./config.ts";

const pacers = new Map<string, RequestPacer>();

export function pacerFor(botId: string, clock?: Clock): RequestPacer {
  let pacer = pacers.get(botId);
  if (!pacer) pacers.set(botId, pacer = new RequestPacer({ clock }));
  return pacer;
}

export function notionClientFor(
  context: AdapterContext & { clock: Clock },
  connection: ConnectionRecord,
): NotionClient {
  const config = notionSettings(context.config);
  const tokens = connectionTokenSource(
    context.db,
    context.config,
    connection,
    notionTokenEndpoint(config, context.clock).refresh,
    context.clock,
  );
  return new NotionClient({
    config,
    tokens,
    clock: context.clock,
    pacer: pacerFor(connection.external_account_id, context.clock),
  });
}
