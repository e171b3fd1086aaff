// Releasing a Calendly grant: the connection's webhook subscriptions are deleted (with the
// grant's token, so first), then the grant is revoked. Both repeat safely: a deleted
// subscription is a 404, and revoking an unknown token answers 200 (RFC 7009).
//
// Calendly's refresh tokens are single-use: if the stored access token has expired, the one
// refresh made here rotates the grant, and the new refresh token (kept in memory only) is the one
// revoked at the end.
import { ProviderApiError } from "../../net/provider_error.ts";
import { emptyReleaseReport } from "../../outbound/release.ts";
import { releaseTokenSource } from "../../sync/credentials.ts";
import type { AccessRelease, AdapterContext, ReleaseReport } from "../../sync/types.ts";
import { CalendlyClient, calendlyTokenEndpoint } from "./client.ts";
import { calendlySettings } from "./config.ts";

export async function releaseCalendlyAccess(
  context: AdapterContext,
  release: AccessRelease,
): Promise<ReleaseReport> {
  const config = calendlySettings(context.config);
  const endpoint = calendlyTokenEndpoint(config, context.clock);
  const report = emptyReleaseReport();
  const tokens = releaseTokenSource(release, endpoint.refresh, context.clock);
  const subscriptions = release.channels.filter((channel) => channel.channel_id.startsWith("http"));
  if (tokens && subscriptions.length > 0) {
    const client = new CalendlyClient({ config, tokens, clock: context.clock });
    for (const subscription of subscriptions) {
      try {
        await client.deleteSubscription(subscription.channel_id);
        report.channelsStopped++;
      } catch (error) {
        if (!(error instanceof ProviderApiError && error.kind === "not_found")) throw error;
        report.channelsGone++;
      }
    }
  }
  const grant = tokens?.refreshToken || release.accessToken?.accessToken;
  if (grant) {
    await endpoint.revoke(grant);
    report.tokenRevoked = true;
  }
  return report;
}
