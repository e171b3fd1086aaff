// Shared Google client for Edge Functions: config, OAuth, error classification, backoff,
// Calendar v3 client, sync pager and event mapping.
export * from "./config.ts";
export * from "./errors.ts";
export * from "./retry.ts";
export * from "./oauth.ts";
export * from "./types.ts";
export * from "./calendar_client.ts";
export * from "./paging.ts";
export * from "./event_mapping.ts";
