// Google Calendar as a provider: its client (OAuth, Calendar v3, errors), its mapping and busy
// policy, its change strategy, and its extras (push channels, the notification receiver,
// connecting an account).
export * from "./config.ts";
export * from "./errors.ts";
export * from "./oauth.ts";
export * from "./types.ts";
export * from "./calendar_client.ts";
export * from "./paging.ts";
export * from "./event_mapping.ts";
export * from "./busy_policy.ts";
export * from "./mirror.ts";
export * from "./strategy.ts";
export { backoffDelay, type BackoffOptions, withBackoff } from "../../net/retry.ts";
