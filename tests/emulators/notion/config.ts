// Emulator configuration: defaults, environment overrides and runtime patches from
// POST /__emulator/config. Invariant: a patch only changes known keys and only with a value of
// the key's type (pageSizeCap / accessTokenTtlSeconds also accept null = off).

import { isRecord } from "./util.ts";

export interface NotionConfig {
  /** OAuth client credentials of the emulator's single public integration. */
  clientId: string;
  clientSecret: string;
  /** Integration id and bot name shared by every OAuth connection (the public integration). */
  publicIntegrationId: string;
  publicIntegrationName: string;
  /** Person user who authors control-API writes ("author": "person"). */
  personUserId: string;
  personName: string;
  personEmail: string;
  /** OAuth access-token lifetime on the emulator clock; null = never expires. */
  accessTokenTtlSeconds: number | null;
  /** When true, refreshing revokes the access token minted with the old refresh token. */
  refreshRevokesOldAccessToken: boolean;
  /** Auth-code lifetime on the emulator clock. */
  authCodeTtlSeconds: number;
  /** Token bucket per connection (bot): average rate and burst; rate <= 0 disables it. */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** Fewest results a query page may be cut to (Notion "may return fewer"); null = off. */
  pageSizeCap: number | null;
  /** Webhooks: merge same entity + type within this window (real ms, 0 = off). */
  aggregationWindowMs: number;
  /** Webhooks: hold queued events this long (real ms) before releasing them as one batch. */
  deliveryDelayMs: number;
  /** Webhooks: shuffle each released batch with the seeded PRNG. */
  reorder: boolean;
  seed: number;
  /** Webhooks: attempts in total (Notion: up to 8) and backoff base (base * 2^(n-1)). */
  maxAttempts: number;
  retryBaseMs: number;
  deliveryTimeoutMs: number;
}

export function defaultConfig(): NotionConfig {
  return {
    clientId: "emulator-notion-client-id",
    clientSecret: "emulator-notion-client-secret",
    publicIntegrationId: "8f0c3b6e-2d4a-4c1e-9b7a-5e6f7a8b9c0d",
    publicIntegrationName: "Emulated public integration",
    personUserId: "c0ffee00-0000-4000-8000-000000000001",
    personName: "Emulated Person",
    personEmail: "person@example.com",
    accessTokenTtlSeconds: null,
    refreshRevokesOldAccessToken: false,
    authCodeTtlSeconds: 600,
    rateLimitPerSecond: 3,
    rateLimitBurst: 6,
    pageSizeCap: null,
    aggregationWindowMs: 0,
    deliveryDelayMs: 0,
    reorder: false,
    seed: 42,
    maxAttempts: 8,
    retryBaseMs: 50,
    deliveryTimeoutMs: 5000,
  };
}

const NULLABLE = new Set(["pageSizeCap", "accessTokenTtlSeconds"]);

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: fall back to defaults
  }
}

/** Environment overrides (read only for options the caller left unset). */
export function configFromEnv(cfg: NotionConfig): NotionConfig {
  cfg.clientId = env("NOTION_CLIENT_ID") ?? cfg.clientId;
  cfg.clientSecret = env("NOTION_CLIENT_SECRET") ?? cfg.clientSecret;
  cfg.personUserId = env("NOTION_EMULATOR_PERSON_USER_ID") ?? cfg.personUserId;
  const num = (name: string): number | undefined => {
    const v = env(name);
    return v === undefined || !Number.isFinite(Number(v)) ? undefined : Number(v);
  };
  const ttl = num("NOTION_EMULATOR_ACCESS_TOKEN_TTL_SECONDS");
  if (ttl !== undefined) cfg.accessTokenTtlSeconds = ttl > 0 ? ttl : null;
  cfg.rateLimitPerSecond = num("NOTION_EMULATOR_RATE_LIMIT_PER_SECOND") ?? cfg.rateLimitPerSecond;
  cfg.rateLimitBurst = num("NOTION_EMULATOR_RATE_LIMIT_BURST") ?? cfg.rateLimitBurst;
  const cap = num("NOTION_EMULATOR_PAGE_SIZE_CAP");
  if (cap !== undefined) cfg.pageSizeCap = cap > 0 ? cap : null;
  return cfg;
}

/** Apply a partial config; returns an error message for a bad value, else undefined. */
export function applyConfig(cfg: NotionConfig, patch: unknown): string | undefined {
  if (!isRecord(patch)) return "config must be an object";
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  const next = { ...cfg } as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (!(k in defaults)) continue;
    if (v === null && NULLABLE.has(k)) next[k] = null;
    else if (NULLABLE.has(k) ? typeof v === "number" : typeof v === typeof defaults[k]) {
      if (typeof v === "number" && (!Number.isFinite(v) || v < 0)) return `${k} must be >= 0`;
      next[k] = v;
    } else return `${k} has the wrong type`;
  }
  if ((next.pageSizeCap as number | null) === 0) next.pageSizeCap = null;
  if ((next.maxAttempts as number) < 1) return "maxAttempts must be >= 1";
  Object.assign(cfg, next);
  return undefined;
}
