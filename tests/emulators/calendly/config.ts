// Emulator configuration: defaults, the environment fallbacks read at startup and the partial
// updates accepted by POST /__emulator/config. Invariant: every knob has a default here, and a
// runtime update only ever replaces a knob with a value of the same type.

export interface EmulatorConfig {
  /** The OAuth app's credentials (HTTP Basic or body parameters on /oauth/token). */
  clientId: string;
  clientSecret: string;
  /** Signs deliveries of subscriptions created without their own `signing_key`. */
  appSigningKey: string;
  /** Added to the `t=` of every signature (seconds, may be negative) to model clock skew. */
  signatureSkewSeconds: number;
  /** `expires_in` of access tokens; expiry runs on the emulator clock. */
  accessTokenTtlSeconds: number;
  /** Authorization codes expire this long after they are issued. */
  authCodeTtlSeconds: number;
  /** Successful token grants per user per minute (Calendly: 8); 0 = unlimited. */
  tokenGrantsPerMinute: number;
  /** API requests per user per window (Calendly paid plans: 500/min); 0 = unlimited. */
  rateLimitPerMinute: number;
  /** Length of a rate-limit window in seconds (Calendly: 60). */
  rateLimitWindowSeconds: number;
  /** Old access token stops working when its refresh token is used (Calendly is silent). */
  revokeAccessTokenOnRefresh: boolean;
  /** `scope` reported by the token endpoint. */
  scope: string;
  /** Delivery retries: attempts in total and the first backoff (doubles each time). */
  retryAttempts: number;
  retryBaseMs: number;
  /** Per-attempt timeout; an attempt that takes longer is a failed attempt. */
  deliveryTimeoutMs: number;
  /** Re-sign (new `t`) every retry attempt; the first attempt uses the dispatch-time header. */
  resignRetries: boolean;
  /** Consecutive failed deliveries that disable a subscription; 0 = never by count. */
  disableAfterFailedDeliveries: number;
  /** A failure streak older than this (emulator time) disables a subscription; 0 = never. */
  disableAfterFailingHours: number;
  /** `count` accepted by list endpoints: default and bounds (Calendly: 20, 1..100). */
  defaultPageSize: number;
  maxPageSize: number;
  /** Pages never hold more than this many items (short pages); null = no cap. */
  pageSizeCap: number | null;
  /** Seed of the PRNG used for drop ratios. */
  seed: number;
}

export function defaultConfig(): EmulatorConfig {
  return {
    clientId: "emulator-calendly-client-id",
    clientSecret: "emulator-calendly-client-secret",
    appSigningKey: "emulator-calendly-app-signing-key",
    signatureSkewSeconds: 0,
    accessTokenTtlSeconds: 7200,
    authCodeTtlSeconds: 600,
    tokenGrantsPerMinute: 8,
    rateLimitPerMinute: 500,
    rateLimitWindowSeconds: 60,
    revokeAccessTokenOnRefresh: false,
    scope: "default",
    retryAttempts: 4,
    retryBaseMs: 50,
    deliveryTimeoutMs: 15000,
    resignRetries: true,
    disableAfterFailedDeliveries: 3,
    disableAfterFailingHours: 24,
    defaultPageSize: 20,
    maxPageSize: 100,
    pageSizeCap: null,
    seed: 42,
  };
}

/** Environment variables read at startup (when the matching option is unset). */
export const ENV = {
  clientId: "CALENDLY_CLIENT_ID",
  clientSecret: "CALENDLY_CLIENT_SECRET",
  appSigningKey: "CALENDLY_WEBHOOK_SIGNING_KEY",
  accessTokenTtlSeconds: "CALENDLY_EMULATOR_ACCESS_TOKEN_TTL_SECONDS",
  rateLimitPerMinute: "CALENDLY_EMULATOR_RATE_LIMIT_PER_MINUTE",
  signatureSkewSeconds: "CALENDLY_EMULATOR_SIGNATURE_SKEW_SECONDS",
} as const satisfies Partial<Record<keyof EmulatorConfig, string>>;

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: defaults apply
  }
}

/** Startup config: defaults, then the environment (unless useEnv is false), then options. */
export function buildConfig(
  options: Partial<EmulatorConfig>,
  useEnv: boolean,
): EmulatorConfig {
  const cfg = defaultConfig();
  if (useEnv) {
    const patch: Record<string, unknown> = {};
    for (const [key, name] of Object.entries(ENV)) {
      const raw = env(name);
      if (raw === undefined) continue;
      const current = (cfg as unknown as Record<string, unknown>)[key];
      patch[key] = typeof current === "number" ? Number(raw) : raw;
    }
    applyConfig(cfg, patch);
  }
  applyConfig(cfg, options as Record<string, unknown>);
  return cfg;
}

/**
 * Apply a partial config. Returns the rejected keys (unknown, wrong type, negative or non-finite
 * numbers) so the control API can answer 400 instead of silently ignoring a typo.
 */
export function applyConfig(cfg: EmulatorConfig, patch: Record<string, unknown>): string[] {
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  const target = cfg as unknown as Record<string, unknown>;
  const rejected: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (!(key in defaults)) {
      rejected.push(key);
    } else if (key === "pageSizeCap") {
      if (value === null || (typeof value === "number" && Number.isInteger(value) && value > 0)) {
        target[key] = value;
      } else rejected.push(key);
    } else if (typeof value !== typeof defaults[key]) {
      rejected.push(key);
    } else if (
      typeof value === "number" &&
      (!Number.isFinite(value) || (value < 0 && key !== "signatureSkewSeconds"))
    ) {
      rejected.push(key);
    } else {
      target[key] = value;
    }
  }
  return rejected;
}
