// The function secrets this bundle reads, with their defaults, validated once per instance.
// Supabase injects SUPABASE_URL / SUPABASE_ANON_KEY / SUPABASE_SERVICE_ROLE_KEY; the rest are
// set with `supabase secrets set` (see README, "Configuration").
import { z } from "zod";
import { HttpError } from "./http/responses.ts";

const EnvSchema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  /** base64 of 32 random bytes: AES-256-GCM key for OAuth refresh tokens at rest. */
  TOKEN_ENCRYPTION_KEY: z.string().refine(
    (value) => /^[A-Za-z0-9+/]{43}=$/.test(value),
    "must be base64 of exactly 32 bytes (openssl rand -base64 32)",
  ),
  /** Shared secret pg_cron sends in `x-cron-secret` (stored in Vault as `cron_secret`). */
  CRON_SECRET: z.string().min(16).optional(),
  /** Where Google should deliver push notifications; defaults to this project's receiver. */
  GOOGLE_WEBHOOK_URL: z.url().optional(),
  /** How far back the initial full sync reads (days). */
  GOOGLE_SYNC_PAST_DAYS: z.coerce.number().int().min(0).max(3650).default(30),
  /** Requested channel lifetime (seconds); Google applies its own cap and says which it used. */
  GOOGLE_CHANNEL_TTL_SECONDS: z.coerce.number().int().min(60).default(604800),
});

export type FunctionEnv = z.infer<typeof EnvSchema>;

let cached: FunctionEnv | undefined;

export function functionEnv(): FunctionEnv {
  if (cached) return cached;
  const parsed = EnvSchema.safeParse(Deno.env.toObject());
  if (!parsed.success) {
    const missing = parsed.error.issues.map((issue) => issue.path.join(".")).join(", ");
    console.error(`[env] invalid or missing function secrets: ${missing}`);
    throw new HttpError(
      500,
      "misconfigured",
      `Function secrets are missing or invalid: ${missing}`,
    );
  }
  cached = parsed.data;
  return cached;
}

export function googleWebhookUrl(env: FunctionEnv): string {
  return env.GOOGLE_WEBHOOK_URL ??
    `${env.SUPABASE_URL.replace(/\/$/, "")}/functions/v1/google-calendar-webhook`;
}
