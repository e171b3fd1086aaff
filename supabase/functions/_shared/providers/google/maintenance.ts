// Google's part of maintenance, for one calendar under its held maintenance claim: renew the
// push channel before it expires (new first, then the old one stopped), stop channels that were
// replaced but not yet stopped, and stop channels a crashed setup left pending.
import type { AdapterContext, MaintenanceWork } from "../../sync/types.ts";
import { type ChannelRow, ensureChannel, stopChannels } from "./channels.ts";
import { googleClientFor } from "./client.ts";

export async function maintainGooglePush(
  context: AdapterContext,
  work: MaintenanceWork,
): Promise<{ renewed: boolean }> {
  const client = googleClientFor(context, work.connection);
  const orphanBefore = work.now - 2 * 60_000;
  const leftovers = work.channels.filter((channel) =>
    channel.status === "stopping" ||
    (channel.status === "pending" && channel.created_at !== undefined &&
      Date.parse(channel.created_at) < orphanBefore)
  );
  const { channel: live, opened } = await ensureChannel(context, client, work.target, {
    // The database decided the channel is due (its renew_lead, which an operator may tune),
    // so it is renewed even if it looks healthy by the default lead.
    force: work.force || work.reasons.includes("renew"),
    heldClaim: {
      claim: work.claim,
      now: work.now,
      channels: work.channels.filter((channel) => !leftovers.includes(channel)) as ChannelRow[],
    },
  });
  // A renewal has already stopped the pending ones, with the channels it replaced.
  const toStop = opened
    ? leftovers.filter((leftover) => leftover.status === "stopping")
    : leftovers;
  if (toStop.length > 0) await stopChannels(context, client, toStop, live.resource_id);
  return { renewed: opened };
}
