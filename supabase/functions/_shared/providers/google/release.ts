// Releasing a Google grant: what write-back wrote goes first (the "Planned sessions" calendar the
// bundle created, as a whole, and each event it wrote in another calendar), then every push
// channel still live is stopped (a channel is stopped with a token of the account that opened
// it), then the grant is revoked at GOOGLE_OAUTH_REVOKE_URL; each step needs the grant, so the
// revocation is last. Repeating it is harmless: a removed calendar or event is a 404/410, a
// stopped channel a 404, a revoked token a 400, and all count as done; a removal Google refuses
// for good (403) is left, never a reason to keep the grant.
import { emptyReleaseReport, removeWritten } from "../../outbound/release.ts";
import { releaseTokenSource } from "../../sync/credentials.ts";
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
  const report = emptyReleaseReport();
  const toStop = release.channels.filter((channel) => channel.resource_id);
  const hasWork = toStop.length > 0 || release.written.length > 0 ||
    release.plannedCalendarId !== null;
  const tokens = hasWork
    ? releaseTokenSource(release, (token) => oauth.refreshAccessToken(token), context.clock)
    : null;
  if (tokens) {
    const client = new GoogleCalendarClient({ config, tokens, clock: context.clock });
    const planned = release.plannedCalendarId ? [release.plannedCalendarId] : [];
    await removeWritten(planned, (calendarId) => client.deleteCalendar(calendarId), report);
    await removeWritten(
      release.written,
      (event) => client.deleteEvent(event.calendar_id, event.external_id, { sendUpdates: "none" }),
      report,
    );
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
