// The typed browser client of the calendar sync functions: an ES module for any framework or a
// plain <script type="module">, bundled to web/dist/calendar-sync-client.js by
// scripts/build_web.sh. See CalendarSyncClient for the calls and CalendarSyncError for what can
// go wrong.
export {
  CalendarSyncClient,
  type CalendarSyncClientOptions,
  createCalendarSyncClient,
  FUNCTIONS,
} from "./client.ts";
export { CalendarSyncError, type CalendarSyncErrorKind, isCalendarSyncError } from "./errors.ts";
export type { AccessTokenSource, SignedInUser } from "./session.ts";
export { type Watch, WATCHED_TABLES, type WatchOptions } from "./watch.ts";
export type * from "./types.ts";
