// Releasing a Notion connection: the pages write-back created in the followed database go to
// Notion's trash (from where the person can still restore them for 30 days), so no planned
// block outlives the plan that made it. Notion offers no API to revoke an integration's token:
// the person removes the integration's access in Notion (the README says so). Repeating it is
// harmless: trashing a trashed page changes nothing, and a page gone for good is a 404.
import { removeWritten } from "../../outbound/release.ts";
import { releaseTokenSource } from "../../sync/credentials.ts";
import type { AccessRelease, AdapterContext, ReleaseReport } from "../../sync/types.ts";
import { NotionClient, notionTokenEndpoint } from "./client.ts";
import { pacerFor } from "./client_for.ts";
import { notionSettings } from "./config.ts";

export async function releaseNotionAccess(
  context: AdapterContext,
  release: AccessRelease,
): Promise<ReleaseReport> {
  const report: ReleaseReport = {
    writtenRemoved: 0,
    writtenKept: 0,
    channelsStopped: 0,
    channelsGone: 0,
    tokenRevoked: null,
  };
  const config = notionSettings(context.config);
  const tokens = release.written.length > 0
    ? releaseTokenSource(release, notionTokenEndpoint(config, context.clock).refresh, context.clock)
    : null;
  if (!tokens) return report;
  const client = new NotionClient({
    config,
    tokens,
    clock: context.clock,
    pacer: pacerFor(release.externalAccountId, context.clock),
  });
  await removeWritten(release.written, (page) => client.trashPage(page.external_id), report);
  return report;
}
