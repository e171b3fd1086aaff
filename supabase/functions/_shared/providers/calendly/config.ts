// Calendly's endpoints and OAuth client, derived from the bundle's one configuration.
import { type Config, functionUrl, required } from "../../config.ts";

export interface CalendlyConfig {
  clientId: string;
  clientSecret: string;
  apiUrl: string;
  oauthTokenUrl: string;
  oauthRevokeUrl: string;
  webhookUrl: string;
  /** A key for subscriptions made by hand (or the OAuth app's), tried after a subscription's own. */
  sharedSigningKey: string | null;
}

/** Calendly's settings; throws ConfigError when the OAuth client is not configured. */
export function calendlySettings(config: Config): CalendlyConfig {
  return {
    clientId: required(config.CALENDLY_CLIENT_ID, "CALENDLY_CLIENT_ID", "Calendly"),
    clientSecret: required(config.CALENDLY_CLIENT_SECRET, "CALENDLY_CLIENT_SECRET", "Calendly"),
    apiUrl: config.CALENDLY_API_URL.replace(/\/+$/, ""),
    oauthTokenUrl: config.CALENDLY_OAUTH_TOKEN_URL,
    oauthRevokeUrl: config.CALENDLY_OAUTH_REVOKE_URL,
    webhookUrl: config.CALENDLY_WEBHOOK_URL ?? functionUrl(config, "calendly-webhook"),
    sharedSigningKey: config.CALENDLY_WEBHOOK_SIGNING_KEY ?? null,
  };
}
