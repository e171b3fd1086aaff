// Google as an adapter of the sync core: how to list a calendar's changes for a claim, and how
// to keep its push channels alive, how to write planned blocks into it, and how to let go of a
// disconnected account.
import type { ProviderAdapter } from "../../sync/types.ts";
import { googleClientFor } from "./client.ts";
import { maintainGooglePush } from "./maintenance.ts";
import { releaseGoogleAccess } from "./release.ts";
import { googleWriter } from "./writer.ts";
import { googleChangeStrategy } from "./strategy.ts";

export const googleAdapter: ProviderAdapter = {
  name: "google",
  changeStrategy(context, connection, target) {
    return googleChangeStrategy({
      lister: googleClientFor(context, connection),
      calendarId: target.calendarId,
      clock: context.clock,
      pastDays: context.config.GOOGLE_SYNC_PAST_DAYS,
    });
  },
  maintainPush: maintainGooglePush,
  writer: (context, connection) =>
    googleWriter(context, connection, googleClientFor(context, connection)),
  releaseAccess: releaseGoogleAccess,
};
