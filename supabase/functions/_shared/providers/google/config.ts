// Google endpoints and OAuth client credentials, read from the environment.
//
// Every endpoint can be overridden so the same code talks to Google in production and to a local
// emulator in tests; the defaults are Google's public endpoints. Reading goes through an injected
// lookup function so tests never touch the process environment.

import { GoogleConfigError } from "./errors.ts";

export const DEFAULT_GOOGLE_OAUTH_TOKEN_URL = "https://oauth2.googleapis.com/token";
/** Root under which `calendar/v3/...` lives (same meaning as googleapis' `rootUrl`). */
export const DEFAULT_GOOGLE_CALENDAR_API_URL = "https://www.googleapis.com/";

export interface GoogleConfig {
  clientId: string;
  clientSecret: string;
  /** Full URL of the OAuth 2.0 token endpoint (refresh and code exchange). */
  oauthTokenUrl: string;
  /** API root, always normalised to end with exactly one "/". */
  calendarApiUrl: string;
}

export type EnvLookup = (name: string) => string | undefined;

/** Treats unset and blank values alike so an empty secret in a .env file counts as missing. */
function read(env: EnvLookup, name: string): string | undefined {
  const value = env(name)?.trim();
  return value ? value : undefined;
}

function validUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new GoogleConfigError(`${name} is not a valid URL: ${value}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new GoogleConfigError(`${name} must be an http(s) URL: ${value}`);
  }
  return url.href;
}

/**
 * Normalises the API root so that `root + "calendar/v3/..."` is always right, whether or not the
 * operator wrote a trailing slash (`http://emulator:9000` and `http://emulator:9000/` both work,
 * and so does a path prefix such as `http://host/google/`).
 */
export function normaliseRootUrl(url: string): string {
  return url.replace(/\/+$/, "") + "/";
}

/**
 * Builds the Google config from environment variables:
 * `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET` (required), `GOOGLE_OAUTH_TOKEN_URL`,
 * `GOOGLE_CALENDAR_API_URL` (optional, Google's defaults).
 * Throws `GoogleConfigError` (an operator problem, never retried) when something is missing.
 */
export function googleConfigFromEnv(
  env: EnvLookup = (name) => Deno.env.get(name),
): GoogleConfig {
  const clientId = read(env, "GOOGLE_CLIENT_ID");
  const clientSecret = read(env, "GOOGLE_CLIENT_SECRET");
  const missing = [
    clientId ? null : "GOOGLE_CLIENT_ID",
    clientSecret ? null : "GOOGLE_CLIENT_SECRET",
  ].filter((n): n is string => n !== null);
  if (missing.length > 0) {
    throw new GoogleConfigError(`Missing environment variable(s): ${missing.join(", ")}`);
  }
  const oauthTokenUrl = validUrl(
    "GOOGLE_OAUTH_TOKEN_URL",
    read(env, "GOOGLE_OAUTH_TOKEN_URL") ?? DEFAULT_GOOGLE_OAUTH_TOKEN_URL,
  );
  const calendarApiUrl = normaliseRootUrl(validUrl(
    "GOOGLE_CALENDAR_API_URL",
    read(env, "GOOGLE_CALENDAR_API_URL") ?? DEFAULT_GOOGLE_CALENDAR_API_URL,
  ));
  return { clientId: clientId!, clientSecret: clientSecret!, oauthTokenUrl, calendarApiUrl };
}
