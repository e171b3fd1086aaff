// Releasing a Google grant: every push channel still live is stopped (a channel is stopped with
// a token of the account that opened it, so this comes first), then the grant is revoked at
// GOOGLE_OAUTH_REVOKE_URL. Repeating it is harmless: a stopped channel is a 404, a revoked
// token a 400, and both count as done.
import { TokenSource } from "../../sync/token_source.ts";
import type { AccessRelease, AdapterContext, ReleaseReport } from "../../sync/types.ts";
import { GoogleCalendarClient } from "./calendar_client.ts";
import { googleSettings } from "./config.ts";
import { GoogleOAuth } from "./oauth.ts";

export async function releaseGoogleAccess(
  context: AdapterContext,
  release: AccessRelease,
): Promise<ReleaseReport> {
  const config = googleSettings(context.config);
  const oauth = new GoogleOAuth({ config, clock: context.clock });
  const report: ReleaseReport = { channelsStopped: 0, channelsGone: 0, tokenRevoked: false };
  const toStop = release.channels.filter((channel) => channel.resource_id);
  if (toStop.length > 0 && (release.refreshToken || release.accessToken)) {
    // In memory only: the connection's row is revoked (or gone), nothing is stored.
    const tokens = new TokenSource({
      grant: (refreshToken) => oauth.refreshAccessToken(refreshToken),
      refreshToken: release.refreshToken ?? "",
      initial: release.accessToken,
      clock: context.clock,
    });
    const client = new GoogleCalendarClient({ config, tokens, clock: context.clock });
    for (const channel of toStop) {
      const { alreadyStopped } = await client.stopChannel(channel.channel_id, channel.resource_id!);
      if (alreadyStopped) report.channelsGone++;
      else report.channelsStopped++;
    }
  }
  const grant = release.refreshToken ?? release.accessToken?.accessToken;
  if (grant) report.tokenRevoked = !(await oauth.revokeToken(grant)).alreadyRevoked;
  return report;
}
