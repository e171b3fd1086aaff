// Notion's endpoints and OAuth client, derived from the bundle's one configuration.
// Invariants: the API URL never ends with a slash (requests go to `<apiUrl>/v1/...`); the OAuth
// client id and secret are optional here — an internal integration token needs neither — and
// are required (ConfigError, answered 500 misconfigured) only where an OAuth code is exchanged or
// a refresh token is used (`notionOAuthClient`).
import { type Config, required } from "../../config.ts";

/** The Notion-Version every request carries (data sources; `in_trash` beside `archived`). */
export const NOTION_VERSION = "2025-09-03";

export interface NotionConfig {
  apiUrl: string;
  oauthTokenUrl: string;
  oauthRevokeUrl: string;
  clientId: string | null;
  clientSecret: string | null;
}

export function notionSettings(config: Config): NotionConfig {
  return {
    apiUrl: config.NOTION_API_URL.replace(/\/+$/, ""),
    oauthTokenUrl: config.NOTION_OAUTH_TOKEN_URL,
    oauthRevokeUrl: config.NOTION_OAUTH_REVOKE_URL,
    clientId: config.NOTION_CLIENT_ID ?? null,
    clientSecret: config.NOTION_CLIENT_SECRET ?? null,
  };
}

/** The public integration's OAuth client; throws ConfigError when it is not configured. */
export function notionOAuthClient(
  config: NotionConfig,
): { clientId: string; clientSecret: string } {
  return {
    clientId: required(config.clientId ?? undefined, "NOTION_CLIENT_ID", "Notion OAuth"),
    clientSecret: required(
      config.clientSecret ?? undefined,
      "NOTION_CLIENT_SECRET",
      "Notion OAuth",
    ),
  };
}

/** A Notion connection's non-secret settings (calendar_connections.settings). */
export interface NotionConnectionSettings {
  auth: "internal" | "oauth";
  database_id: string;
  data_source_id: string;
  date_property: string;
  date_property_id: string | null;
  workspace_id: string | null;
  bot_id: string;
  time_zone: string;
  /** Planned blocks are written to the data source as pages (write-back, opt-in). */
  write_back: boolean;
}

export function connectionSettings(settings: Record<string, unknown>): NotionConnectionSettings {
  const text = (key: string) => typeof settings[key] === "string" ? settings[key] as string : null;
  return {
    auth: text("auth") === "oauth" ? "oauth" : "internal",
    database_id: text("database_id") ?? "",
    data_source_id: text("data_source_id") ?? "",
    date_property: text("date_property") ?? "Date",
    date_property_id: text("date_property_id"),
    workspace_id: text("workspace_id"),
    bot_id: text("bot_id") ?? "",
    time_zone: text("time_zone") ?? "UTC",
    write_back: settings.write_back === true,
  };
}
