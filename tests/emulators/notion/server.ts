// Notion API emulator: one HTTP server on 127.0.0.1 serving /v1/... (Notion's surface, see
// routes.ts) and the test control API under /__emulator/ (control.ts).
// Request pipeline, in order: count the operation -> latency -> fault rules -> Notion-Version
// -> bearer token -> per-connection rate limit -> handler. Invariant: the pipeline order is the
// same for every API operation, so faults always win over auth and version errors.

import { authenticate } from "./accounts.ts";
import { Clock } from "../shared/clock.ts";
import { applyConfig, configFromEnv, defaultConfig, type NotionConfig } from "./config.ts";
import type { ApiCall, Ctx } from "./context.ts";
import { control } from "./control.ts";
import { invalidRequest, notionError, unauthorized } from "./errors.ts";
import { Counters, Faults } from "./faults.ts";
import { revokeEndpoint, tokenEndpoint } from "./oauth.ts";
import { RateLimiter } from "./ratelimit.ts";
import { route } from "./routes.ts";
import { Store } from "./store.ts";
import { checkVersion } from "./versions.ts";
import { Webhooks } from "./webhooks.ts";

export type { NotionConfig } from "./config.ts";

export interface NotionEmulatorOptions extends Partial<NotionConfig> {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Read NOTION_CLIENT_ID etc. from the environment (default true); options still win. */
  useEnv?: boolean;
}

export interface NotionEmulator {
  url: string;
  port: number;
  /** In-process handles (the same state the control API manipulates). */
  ctx: Ctx;
  reset(): Promise<void>;
  /** Release held/queued webhook events and wait for every delivery (retries included). */
  flushDeliveries(): Promise<void>;
  close(): Promise<void>;
}

function startupConfig(options: NotionEmulatorOptions): NotionConfig {
  const cfg = options.useEnv === false ? defaultConfig() : configFromEnv(defaultConfig());
  const { port: _port, useEnv: _useEnv, ...rest } = options;
  const patch = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const error = applyConfig(cfg, patch);
  if (error) throw new Error(`notion emulator: ${error}`);
  return cfg;
}

export function startNotionEmulator(options: NotionEmulatorOptions = {}): Promise<NotionEmulator> {
  const initial = startupConfig(options);
  const ctx = {
    config: structuredClone(initial),
    clock: new Clock(),
    store: new Store(),
    faults: new Faults(),
    counters: new Counters(),
    limiter: new RateLimiter(),
    baseUrl: "",
  } as Ctx;
  ctx.webhooks = new Webhooks(ctx);

  const reset = async () => {
    await ctx.webhooks.dispatcher.shutdown();
    ctx.config = structuredClone(initial);
    ctx.webhooks.clear();
    ctx.store = new Store();
    ctx.faults.reset();
    ctx.counters.reset();
    ctx.limiter.reset();
    ctx.clock.reset();
  };
  const hooks = { reset, configure: (patch: unknown) => applyConfig(ctx.config, patch) };

  const sleeps = new Set<number>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const id = setTimeout(() => {
        sleeps.delete(id);
        resolve();
      }, ms);
      sleeps.add(id);
    });

  const api = async (req: Request, url: URL): Promise<Response> => {
    const r = route(req.method, url.pathname);
    const op = r?.op ?? "unknown";
    ctx.counters.inc(op);
    ctx.counters.enter(op);
    try {
      if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs);
      const fault = ctx.faults.match(op, req.method, url.pathname);
      if (fault) return fault;
      if (!r) return notionError(400, "invalid_request_url");
      if (r.oauth) return await tokenEndpoint(ctx, req);
      const v = checkVersion(req.headers.get("notion-version"));
      if (!v.ok) {
        return v.missing ? notionError(400, "missing_version") : notionError(
          400,
          "validation_error",
          `Notion-Version header failed validation: \`${v.value}\` is not a supported version.`,
        );
      }
      if (r.revoke) return await revokeEndpoint(ctx, req);
      if (r.dataSourcesOnly && !v.version.dataSources) {
        return invalidRequest(
          "Data source endpoints require Notion-Version 2025-09-03 or later " +
            `(got ${v.version.value}).`,
        );
      }
      const conn = authenticate(ctx, req);
      if (!conn) return unauthorized();
      const { rateLimitPerSecond, rateLimitBurst } = ctx.config;
      const retryAfter = ctx.limiter.take(
        conn.botUserId,
        ctx.clock.now(),
        rateLimitPerSecond,
        rateLimitBurst,
      );
      if (retryAfter !== undefined) {
        return notionError(429, "rate_limited", undefined, { "retry-after": String(retryAfter) });
      }
      const call: ApiCall = { ctx, req, url, version: v.version, conn, params: r.params };
      return await r.run!(call);
    } finally {
      ctx.counters.leave(op);
    }
  };

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      if (url.pathname === "/__emulator" || url.pathname.startsWith("/__emulator/")) {
        return await control(ctx, hooks, req, url);
      }
      return await api(req, url);
    } catch (e) {
      console.error("notion emulator: unhandled error", e);
      return notionError(500, "internal_server_error");
    }
  };

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
    handler,
  );
  ctx.baseUrl = `http://127.0.0.1:${server.addr.port}`;

  return Promise.resolve({
    url: ctx.baseUrl,
    port: server.addr.port,
    ctx,
    reset,
    flushDeliveries: () => ctx.webhooks.dispatcher.flush(),
    close: async () => {
      for (const id of sleeps) clearTimeout(id);
      sleeps.clear();
      await ctx.webhooks.dispatcher.shutdown();
      await server.shutdown();
      await ctx.webhooks.dispatcher.shutdown();
    },
  });
}
