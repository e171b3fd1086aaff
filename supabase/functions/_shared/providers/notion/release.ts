// Releasing a Notion connection: the pages write-back created in the followed database go to
// Notion's trash (from where the person can still restore them for 30 days), so no planned
// block outlives the plan that made it; then a public integration's OAuth grant is revoked
// (POST /v1/oauth/revoke). An internal integration's token cannot be revoked by the API: the
// person removes the integration's access in Notion (the README says so). Repeating it is
// harmless: trashing a trashed page changes nothing, a page gone for good is a 404, and a grant
// already revoked ends the release as done.
import { emptyReleaseReport, removeWritten } from "../../outbound/release.ts";
import { releaseTokenSource } from "../../sync/credentials.ts";
import type { AccessRelease, AdapterContext, ReleaseReport } from "../../sync/types.ts";
import { NotionClient, notionTokenEndpoint } from "./client.ts";
import { pacerFor } from "./client_for.ts";
import { notionSettings } from "./config.ts";

export async function releaseNotionAccess(
  context: AdapterContext,
  release: AccessRelease,
): Promise<ReleaseReport> {
  const report = emptyReleaseReport(null);
  const config = notionSettings(context.config);
  const endpoint = notionTokenEndpoint(config, context.clock);
  const tokens = releaseTokenSource(release, endpoint.refresh, context.clock);
  if (!tokens) return report;
  if (release.written.length > 0) {
    const client = new NotionClient({
      config,
      tokens,
      clock: context.clock,
      pacer: pacerFor(release.externalAccountId, context.clock),
    });
    await removeWritten(release.written, (page) => client.trashPage(page.external_id), report);
  }
  if (release.settings.auth === "oauth") {
    await endpoint.revoke(await tokens.token());
    report.tokenRevoked = true;
  }
  return report;
}
