// Notion as an adapter of the sync core: how to list a followed data source's dated pages for a
// claim (see strategy.ts for how the poll converges without webhooks), and how planned blocks
// become pages (writer.ts), and how a disconnected connection's pages go (release.ts). There is
// no maintainPush:
// Notion's webhook subscriptions are made by a person in the integration's settings, never by
// the API, so maintenance's part for Notion is the backup poll itself (maintenance_take_due
// makes every Notion data source due every `notion_poll_period`, 2 minutes).
import { rpc } from "../../db/client.ts";
import type { ProviderAdapter } from "../../sync/types.ts";
import { notionClientFor } from "./client_for.ts";
import { connectionSettings } from "./config.ts";
import { type MirrorRow, notionChangeStrategy } from "./strategy.ts";
import { releaseNotionAccess } from "./release.ts";
import { notionWriter } from "./writer.ts";

export const notionAdapter: ProviderAdapter = {
  name: "notion",
  changeStrategy(context, connection, target) {
    const settings = connectionSettings(connection.settings);
    return notionChangeStrategy({
      client: notionClientFor(context, connection),
      dataSourceId: target.calendarId,
      dateProperty: { id: settings.date_property_id, name: settings.date_property },
      timeZone: settings.time_zone,
      botId: settings.bot_id,
      mirror: (fromMs) =>
        rpc<MirrorRow[]>(context.db, "notion_mirror_snapshot", {
          p_connection_id: target.connectionId,
          p_calendar_id: target.calendarId,
          p_from: new Date(fromMs).toISOString(),
        }),
      clock: context.clock,
      log: (line) => console.log(`[notion-sync] ${line}`),
    });
  },
  writer: (context, connection) =>
    notionWriter(context, connection, notionClientFor(context, connection)),
  releaseAccess: releaseNotionAccess,
};
