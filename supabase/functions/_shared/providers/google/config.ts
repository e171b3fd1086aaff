// Google's endpoints and OAuth client, derived from the bundle's one configuration
// (_shared/config.ts). Every endpoint can be overridden so the same code talks to Google in
// production and to the emulator in tests; the defaults are Google's public endpoints.
import { type Config, functionUrl, required } from "../../config.ts";

export interface GoogleConfig {
  clientId: string;
  clientSecret: string;
  /** Full URL of the OAuth 2.0 token endpoint (refresh and code exchange). */
  oauthTokenUrl: string;
  /** Full URL of the OAuth 2.0 revocation endpoint. */
  oauthRevokeUrl: string;
  /** API root, always normalised to end with exactly one "/". */
  calendarApiUrl: string;
}

/**
 * Normalises the API root so that `root + "calendar/v3/..."` is always right, whether or not the
 * operator wrote a trailing slash (`http://emulator:9000` and `http://emulator:9000/` both work,
 * and so does a path prefix such as `http://host/google/`).
 */
export function normaliseRootUrl(url: string): string {
  return url.replace(/\/+$/, "") + "/";
}

/** Google's settings; throws ConfigError when the OAuth client is not configured. */
export function googleSettings(config: Config): GoogleConfig {
  return {
    clientId: required(config.GOOGLE_CLIENT_ID, "GOOGLE_CLIENT_ID", "Google Calendar"),
    clientSecret: required(config.GOOGLE_CLIENT_SECRET, "GOOGLE_CLIENT_SECRET", "Google Calendar"),
    oauthTokenUrl: config.GOOGLE_OAUTH_TOKEN_URL,
    oauthRevokeUrl: config.GOOGLE_OAUTH_REVOKE_URL,
    calendarApiUrl: normaliseRootUrl(config.GOOGLE_CALENDAR_API_URL),
  };
}

/** Where Google delivers push notifications for this project. */
export function googleWebhookUrl(config: Config): string {
  return config.GOOGLE_WEBHOOK_URL ?? functionUrl(config, "google-calendar-webhook");
}
