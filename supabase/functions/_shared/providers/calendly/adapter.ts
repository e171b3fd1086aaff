// Calendly as an adapter of the sync core: how to list a user's meetings for a claim, and how to
// keep their webhook subscription alive, and how to let go of a disconnected account.
import type { ProviderAdapter } from "../../sync/types.ts";
import { calendlyClientFor } from "./client_for.ts";
import { releaseCalendlyAccess } from "./release.ts";
import { calendlyChangeStrategy } from "./strategy.ts";
import { maintainCalendlyPush } from "./subscription.ts";

export const calendlyAdapter: ProviderAdapter = {
  name: "calendly",
  changeStrategy(context, connection, target) {
    return calendlyChangeStrategy({
      client: calendlyClientFor(context, connection),
      userUri: target.calendarId,
      clock: context.clock,
      log: (line) => console.log(`[calendly-sync] ${line}`),
    });
  },
  maintainPush: maintainCalendlyPush,
  releaseAccess: releaseCalendlyAccess,
};
