// The shared handles every handler works with.

import type { Clock } from "../shared/clock.ts";
import type { Counters, Faults } from "./faults.ts";
import type { Push } from "./push.ts";
import type { EmulatorConfig, Store } from "./store.ts";

export interface Ctx {
  config: EmulatorConfig;
  clock: Clock;
  store: Store;
  faults: Faults;
  counters: Counters;
  push: Push;
  /** http://127.0.0.1:PORT — used to build resourceUri values. */
  baseUrl: string;
}
