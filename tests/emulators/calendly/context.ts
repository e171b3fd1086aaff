// The shared handles every handler works with. One Ctx per emulator instance; reset() swaps
// the store and clears the rest in place, so handlers must read ctx.store on each request.

import type { Clock } from "../shared/clock.ts";
import type { EmulatorConfig } from "./config.ts";
import type { Counters } from "./counters.ts";
import type { Deliveries } from "./delivery.ts";
import type { Faults } from "./faults.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { Store } from "./store.ts";

export interface Ctx {
  config: EmulatorConfig;
  clock: Clock;
  store: Store;
  faults: Faults;
  counters: Counters;
  /** API requests per user per window. */
  apiLimiter: RateLimiter;
  /** Successful OAuth token grants per user per minute. */
  grantLimiter: RateLimiter;
  deliveries: Deliveries;
  /** http://127.0.0.1:PORT — the base of every resource URI. */
  baseUrl: string;
}
