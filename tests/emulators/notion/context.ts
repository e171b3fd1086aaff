// The shared handles every handler works with, and the shape of one API call.
// Invariant: one Ctx per emulator instance; reset replaces `store` and clears the other parts
// in place, so references held by long-lived objects (dispatcher, limiter) stay valid.

import type { Clock } from "../shared/clock.ts";
import type { NotionConfig } from "./config.ts";
import type { Counters, Faults } from "./faults.ts";
import type { RateLimiter } from "./ratelimit.ts";
import type { Connection, Store } from "./store.ts";
import type { ApiVersion } from "./versions.ts";
import type { Webhooks } from "./webhooks.ts";

export interface Ctx {
  config: NotionConfig;
  clock: Clock;
  store: Store;
  faults: Faults;
  counters: Counters;
  limiter: RateLimiter;
  webhooks: Webhooks;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
}

/** One authenticated, versioned API request as handlers see it. */
export interface ApiCall {
  ctx: Ctx;
  req: Request;
  url: URL;
  version: ApiVersion;
  conn: Connection;
  /** Path parameters, already decoded (not yet validated as ids). */
  params: string[];
}
