// Calendly API v2 + OAuth emulator: one HTTP server on 127.0.0.1 serving the auth host
// (/oauth/token, /oauth/revoke), the API host (/users, /scheduled_events, /webhook_subscriptions,
// …) and the test control API under /__emulator/.
//
// Request pipeline for the Calendly surface: count → latency → fault rules → (API only)
// authenticate → per-user rate limit → handler. Every API-host response, errors included,
// carries X-RateLimit-Limit/-Remaining/-Reset.

import { Clock } from "../shared/clock.ts";
import { applyConfig, buildConfig, type EmulatorConfig } from "./config.ts";
import type { Ctx } from "./context.ts";
import { control } from "./control.ts";
import { Counters } from "./counters.ts";
import { Deliveries } from "./delivery.ts";
import { apiError, notFound } from "./errors.ts";
import { faultResponse, Faults } from "./faults.ts";
import { getEventType, getMe, getOrganization, getUser } from "./identity.ts";
import { authenticate, peekUser, revokeEndpoint, tokenEndpoint } from "./oauth.ts";
import { rateHeaders, RateLimiter, type RateState } from "./ratelimit.ts";
import {
  cancelEventApi,
  getEvent,
  getInvitee,
  listEvents,
  listInvitees,
} from "./scheduled_events.ts";
import { Store, type User } from "./store.ts";
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
} from "./webhook_api.ts";

export type { EmulatorConfig } from "./config.ts";
export type { Delivery } from "./delivery.ts";

export interface CalendlyEmulatorOptions extends Partial<EmulatorConfig> {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Read CALENDLY_CLIENT_ID etc. from the environment for unset options (default true). */
  useEnv?: boolean;
}

export interface CalendlyEmulator {
  url: string;
  port: number;
  /** In-process handles (the same state the control API manipulates). */
  ctx: Ctx;
  reset(): Promise<void>;
  /** Wait for queued webhook deliveries (retries included) to finish. */
  flushDeliveries(): Promise<void>;
  close(): Promise<void>;
}

type Handler = (ctx: Ctx, req: Request, url: URL, caller: User) => Response | Promise<Response>;
type Route =
  | { op: string; auth: false; run: (ctx: Ctx, req: Request) => Promise<Response> }
  | { op: string; auth: true; run: Handler };

const api = (op: string, run: Handler): Route => ({ op, auth: true, run });

/** Map a request to its operation name (the counter key) and handler. */
function route(method: string, path: string): Route | undefined {
  const p = path.replace(/\/+$/, "");
  if (p === "/oauth/token" && method === "POST") {
    return { op: "oauth.token", auth: false, run: tokenEndpoint };
  }
  if (p === "/oauth/revoke" && method === "POST") {
    return { op: "oauth.revoke", auth: false, run: revokeEndpoint };
  }
  const seg = p.split("/").filter(Boolean).map(decodeURIComponent);
  const [root, id, sub, subId] = seg;
  if (method === "GET" && root === "users" && seg.length === 2) {
    return id === "me"
      ? api("users.me", (ctx, _r, _u, caller) => getMe(ctx, caller))
      : api("users.get", (ctx, _r, _u, caller) => getUser(ctx, caller, id));
  }
  if (method === "GET" && root === "organizations" && seg.length === 2) {
    return api("organizations.get", (ctx, _r, _u, caller) => getOrganization(ctx, caller, id));
  }
  if (method === "GET" && root === "event_types" && seg.length === 2) {
    return api("event_types.get", (ctx, _r, _u, caller) => getEventType(ctx, caller, id));
  }
  if (root === "scheduled_events") {
    if (seg.length === 1 && method === "GET") {
      return api("scheduled_events.list", (ctx, _r, url, caller) => listEvents(ctx, caller, url));
    }
    if (seg.length === 2 && method === "GET") {
      return api("scheduled_events.get", (ctx, _r, _u, caller) => getEvent(ctx, caller, id));
    }
    if (seg.length === 3 && sub === "cancellation" && method === "POST") {
      return api(
        "scheduled_events.cancel",
        (ctx, req, _u, caller) => cancelEventApi(ctx, caller, id, req),
      );
    }
    if (seg.length === 3 && sub === "invitees" && method === "GET") {
      return api("invitees.list", (ctx, _r, url, caller) => listInvitees(ctx, caller, id, url));
    }
    if (seg.length === 4 && sub === "invitees" && method === "GET") {
      return api("invitees.get", (ctx, _r, _u, caller) => getInvitee(ctx, caller, id, subId));
    }
  }
  if (root === "webhook_subscriptions") {
    if (seg.length === 1 && method === "POST") {
      return api(
        "webhook_subscriptions.create",
        (ctx, req, _u, caller) => createSubscription(ctx, caller, req),
      );
    }
    if (seg.length === 1 && method === "GET") {
      return api(
        "webhook_subscriptions.list",
        (ctx, _r, url, caller) => listSubscriptions(ctx, caller, url),
      );
    }
    if (seg.length === 2 && method === "GET") {
      return api(
        "webhook_subscriptions.get",
        (ctx, _r, _u, caller) => getSubscription(ctx, caller, id),
      );
    }
    if (seg.length === 2 && method === "DELETE") {
      return api(
        "webhook_subscriptions.delete",
        (ctx, _r, _u, caller) => deleteSubscription(ctx, caller, id),
      );
    }
  }
  return undefined;
}

/** Copy a response with extra headers (Response headers can be immutable). */
function withHeaders(res: Response, headers: Record<string, string>): Response {
  const h = new Headers(res.headers);
  for (const [k, v] of Object.entries(headers)) if (!h.has(k)) h.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers: h });
}

function rateFor(ctx: Ctx, user: User | undefined, consume: boolean): RateState {
  const key = user?.uuid ?? "anonymous";
  const args = [
    key,
    Math.max(1, ctx.config.rateLimitPerMinute),
    ctx.clock.now(),
    ctx.config.rateLimitWindowSeconds * 1000,
  ] as const;
  return consume ? ctx.apiLimiter.consume(...args) : ctx.apiLimiter.peek(...args);
}

async function serveCalendly(
  ctx: Ctx,
  req: Request,
  url: URL,
  sleep: (ms: number) => Promise<void>,
) {
  const r = route(req.method, url.pathname);
  const op = r?.op ?? "unknown";
  const isApi = !op.startsWith("oauth.");
  ctx.counters.inc(op);
  ctx.counters.enter(op);
  try {
    if (ctx.faults.latencyMs > 0) await sleep(ctx.faults.latencyMs);
    const rule = ctx.faults.take(op, req.method, url.pathname);
    if (rule) {
      const res = faultResponse(rule, op);
      if (!isApi) return res;
      const state = rateFor(ctx, peekUser(ctx, req), false);
      if (rule.rateLimitResetSeconds !== undefined) {
        state.remaining = 0;
        state.resetSeconds = rule.rateLimitResetSeconds;
      }
      return withHeaders(res, rateHeaders(state));
    }
    if (!r) return withHeaders(notFound(), rateHeaders(rateFor(ctx, peekUser(ctx, req), false)));
    if (!r.auth) return await r.run(ctx, req);
    const caller = authenticate(ctx, req);
    if (caller instanceof Response) {
      return withHeaders(caller, rateHeaders(rateFor(ctx, undefined, false)));
    }
    const state = rateFor(ctx, caller, true);
    if (!state.allowed) return apiError(429, undefined, undefined, undefined, rateHeaders(state));
    return withHeaders(await r.run(ctx, req, url, caller), rateHeaders(state));
  } finally {
    ctx.counters.leave(op);
  }
}

export function startCalendlyEmulator(
  options: CalendlyEmulatorOptions = {},
): Promise<CalendlyEmulator> {
  const { port: wantedPort, useEnv, ...knobs } = options;
  const startupConfig = buildConfig(knobs, useEnv !== false);
  const timers = new Map<number, () => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const id = setTimeout(() => {
        timers.delete(id);
        resolve();
      }, ms);
      timers.set(id, resolve);
    });

  // Assigned once the server is listening (resource URIs need the port); the handler only runs
  // after that.
  // deno-lint-ignore prefer-const
  let ctx: Ctx;
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      if (url.pathname.startsWith("/__emulator/")) return await control(ctx, hooks, req, url);
      return await serveCalendly(ctx, req, url, sleep);
    } catch (e) {
      console.error("calendly emulator: unhandled error", e);
      return apiError(500);
    }
  };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: wantedPort ?? 0, onListen: () => {} },
    handler,
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;
  ctx = {
    config: structuredClone(startupConfig),
    clock: new Clock(),
    store: new Store(baseUrl),
    faults: new Faults(),
    counters: new Counters(),
    apiLimiter: new RateLimiter(),
    grantLimiter: new RateLimiter(),
    baseUrl,
  } as Ctx;
  ctx.deliveries = new Deliveries(ctx);
  ctx.faults.reset(startupConfig.seed);

  const reset = async () => {
    await ctx.deliveries.shutdown();
    ctx.deliveries.clear();
    ctx.config = structuredClone(startupConfig);
    ctx.store = new Store(baseUrl);
    ctx.faults.reset(startupConfig.seed);
    ctx.counters.reset();
    ctx.apiLimiter.reset();
    ctx.grantLimiter.reset();
    ctx.clock.reset();
  };
  const hooks = {
    reset,
    configure: (patch: Record<string, unknown>) => applyConfig(ctx.config, patch),
  };

  return Promise.resolve({
    url: baseUrl,
    port: server.addr.port,
    ctx,
    reset,
    flushDeliveries: () => ctx.deliveries.flush(),
    close: async () => {
      for (const [id, resolve] of timers) {
        clearTimeout(id);
        resolve();
      }
      await ctx.deliveries.shutdown();
      await server.shutdown();
      await ctx.deliveries.shutdown();
    },
  });
}
