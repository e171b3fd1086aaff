// The function secrets this bundle reads, with their defaults: read and validated in ONE place,
// once per instance. Supabase injects SUPABASE_URL / SUPABASE_ANON_KEY /
// SUPABASE_SERVICE_ROLE_KEY / SUPABASE_DB_URL (and SUPABASE_JWKS on projects with signing
// keys); the rest are set with `supabase secrets set` (README, "Configuration"; every name is in
// supabase/functions/.env.example). Nothing else in the bundle reads Deno.env.
//
// Provider credentials are optional here and required by the provider that needs them
// (googleSettings(), ...), so a project that uses only Google never has to set Calendly's.
// Blank values count as unset, so an empty line in a .env file behaves like a missing one.
import { z } from "zod";

/** An operator problem (missing or invalid secret). Never retried; answered 500 misconfigured. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const blankIsUnset = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;
const optionalString = z.preprocess(blankIsUnset, z.string().optional());
const optionalUrl = z.preprocess(blankIsUnset, z.url().optional());
const urlWithDefault = (fallback: string) => z.preprocess(blankIsUnset, z.url().default(fallback));
const booleanWithDefault = (fallback: boolean) =>
  z.preprocess(
    blankIsUnset,
    z.enum(["true", "false"]).default(fallback ? "true" : "false").transform((v) => v === "true"),
  );
const intWithDefault = (fallback: number, min: number, max: number) =>
  z.preprocess(blankIsUnset, z.coerce.number().int().min(min).max(max).default(fallback));

const ConfigSchema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  /**
   * The database's own connection string (set by Supabase for every function). The Google
   * receiver makes its one call per batch of notifications over it (db/direct_sql.ts).
   */
  SUPABASE_DB_URL: z.preprocess(
    blankIsUnset,
    z.string().regex(/^postgres(ql)?:\/\/\S+$/, "must be a postgresql:// connection string")
      .optional(),
  ),
  /**
   * Whether the Google receiver uses that connection (false: every call through the Data API,
   * one less connection per receiver instance, ~1 ms more per notification on the local stack).
   */
  GOOGLE_RECEIVER_DIRECT_DB: booleanWithDefault(true),
  /** JSON Web Key Set of the project's asymmetric signing keys (set by Supabase when in use). */
  SUPABASE_JWKS: optionalString,
  /**
   * The project's legacy (HS256) JWT secret, if the operator sets it: user tokens are then
   * verified locally. Without it, HS256 tokens are verified by asking the API (one round trip).
   */
  JWT_SECRET: optionalString,
  /** base64 of 32 random bytes: AES-256-GCM key for OAuth tokens and signing keys at rest. */
  TOKEN_ENCRYPTION_KEY: z.string().refine(
    (value) => /^[A-Za-z0-9+/]{43}=$/.test(value),
    "must be base64 of exactly 32 bytes (openssl rand -base64 32)",
  ),
  /** Shared secret pg_cron sends in `x-cron-secret` (stored in Vault as `cron_secret`). */
  CRON_SECRET: z.preprocess(blankIsUnset, z.string().min(16).optional()),

  GOOGLE_CLIENT_ID: optionalString,
  GOOGLE_CLIENT_SECRET: optionalString,
  GOOGLE_OAUTH_TOKEN_URL: urlWithDefault("https://oauth2.googleapis.com/token"),
  GOOGLE_OAUTH_REVOKE_URL: urlWithDefault("https://oauth2.googleapis.com/revoke"),
  /** Root under which `calendar/v3/...` lives (googleapis' `rootUrl`). */
  GOOGLE_CALENDAR_API_URL: urlWithDefault("https://www.googleapis.com/"),
  /** Where Google delivers push notifications; defaults to this project's receiver. */
  GOOGLE_WEBHOOK_URL: optionalUrl,
  /** How far back a full sync reads (days). */
  GOOGLE_SYNC_PAST_DAYS: intWithDefault(30, 0, 3650),
  /** Requested channel lifetime (seconds); Google applies its own cap and says which it used. */
  GOOGLE_CHANNEL_TTL_SECONDS: intWithDefault(604800, 60, 2_592_000),

  CALENDLY_CLIENT_ID: optionalString,
  CALENDLY_CLIENT_SECRET: optionalString,
  CALENDLY_API_URL: urlWithDefault("https://api.calendly.com"),
  CALENDLY_OAUTH_TOKEN_URL: urlWithDefault("https://auth.calendly.com/oauth/token"),
  CALENDLY_OAUTH_REVOKE_URL: urlWithDefault("https://auth.calendly.com/oauth/revoke"),
  /** Where Calendly delivers webhooks; defaults to this project's receiver. */
  CALENDLY_WEBHOOK_URL: optionalUrl,
  /**
   * The signing key of a subscription made by hand in Calendly's UI (or the OAuth app's key),
   * tried after each subscription's own key.
   */
  CALENDLY_WEBHOOK_SIGNING_KEY: optionalString,

  NOTION_CLIENT_ID: optionalString,
  NOTION_CLIENT_SECRET: optionalString,
  NOTION_API_URL: urlWithDefault("https://api.notion.com"),
  NOTION_OAUTH_TOKEN_URL: urlWithDefault("https://api.notion.com/v1/oauth/token"),
  NOTION_OAUTH_REVOKE_URL: urlWithDefault("https://api.notion.com/v1/oauth/revoke"),

  /**
   * How long a sync claim holds without progress before another run may take it over (a live
   * run's heartbeat extends it every third of it).
   */
  SYNC_LEASE_SECONDS: intWithDefault(5, 3, 600),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Parses a configuration; throws ConfigError naming every missing or invalid secret. */
export function parseConfig(source: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join(".")} (${issue.message})`).join(", ");
    throw new ConfigError(`Function secrets are missing or invalid: ${problems}`);
  }
  return parsed.data;
}

let cached: Config | undefined;

/** This instance's configuration, from the process environment, parsed on first use. */
export function loadConfig(): Config {
  if (!cached) {
    try {
      cached = parseConfig(Deno.env.toObject());
    } catch (error) {
      console.error(`[config] ${error instanceof Error ? error.message : error}`);
      throw error;
    }
  }
  return cached;
}

/** The project's own URL for a function (what providers call back, what the sync kicks). */
export function functionUrl(config: Pick<Config, "SUPABASE_URL">, name: string): string {
  return `${config.SUPABASE_URL.replace(/\/+$/, "")}/functions/v1/${name}`;
}

/** Like a Config value, but the operator must have set it for this provider to work. */
export function required<T>(value: T | undefined, name: string, purpose: string): T {
  if (value === undefined) throw new ConfigError(`${name} is not set (needed for ${purpose})`);
  return value;
}
