// Google Calendar v3 + OAuth emulator: one HTTP server on 127.0.0.1 serving the token endpoint,
// the Calendar API under /calendar/v3/ and the test control API under /__emulator/.
//
// Request pipeline for the Google surface (control routes skip all of it): count the operation,
// apply latency, consult the fault queue (a plain rule answers instead of the handler; an
// `after` rule lets the handler run and then replaces its answer), authenticate, resolve the
// calendar, apply write pacing for event writes, run the handler.

import { calendarList, calendarResource, deleteCalendar, insertCalendar } from "./calendars.ts";
import { Clock } from "../shared/clock.ts";
import type { Ctx } from "./context.ts";
import { control } from "./control.ts";
import { googleError, notFound } from "./errors.ts";
import {
  checkWritePace,
  deleteEvent,
  getEvent,
  insertEvent,
  listEvents,
  modifyEvent,
} from "./events.ts";
import { Counters, faultResponse, Faults } from "./faults.ts";
import { authenticate, revokeEndpoint, tokenEndpoint } from "./oauth.ts";
import { Push } from "./push.ts";
import {
  type Calendar,
  defaultConfig,
  type EmulatorConfig,
  type PagingKnobs,
  Store,
} from "./store.ts";
import { toIso } from "./time.ts";
import { isRecord, json, readJson } from "./util.ts";

export type { EmulatorConfig, PagingKnobs } from "./store.ts";

export interface GoogleEmulatorOptions extends Partial<Omit<EmulatorConfig, "paging">> {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  paging?: Partial<PagingKnobs>;
  /** Read GOOGLE_CLIENT_ID etc. from the environment for unset options (default true). */
  useEnv?: boolean;
}

export interface GoogleEmulator {
  url: string;
  port: number;
  /** In-process handles (same state the control API manipulates). */
  ctx: Ctx;
  reset(): Promise<void>;
  /** Wait for queued push deliveries (including retries) to finish. */
  flushDeliveries(): Promise<void>;
  close(): Promise<void>;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: fall back to defaults
  }
}

function configFrom(options: GoogleEmulatorOptions): EmulatorConfig {
  const cfg = defaultConfig();
  if (options.useEnv !== false) {
    cfg.clientId = env("GOOGLE_CLIENT_ID") ?? cfg.clientId;
    cfg.clientSecret = env("GOOGLE_CLIENT_SECRET") ?? cfg.clientSecret;
    const num = (n: string) => (env(n) === undefined ? undefined : Number(env(n)));
    cfg.maxChannelTtlSeconds = num("GOOGLE_EMULATOR_MAX_TTL_SECONDS") ?? cfg.maxChannelTtlSeconds;
    cfg.accessTokenTtlSeconds = num("GOOGLE_EMULATOR_ACCESS_TOKEN_TTL_SECONDS") ??
      cfg.accessTokenTtlSeconds;
    const timing = env("GOOGLE_EMULATOR_SYNC_TIMING");
    if (timing === "before" || timing === "after") cfg.syncMessageTiming = timing;
    const http = env("GOOGLE_EMULATOR_HTTP_WEBHOOKS");
    if (http === "loopback" || http === "any" || http === "never") cfg.httpWebhooks = http;
  }
  const { port: _port, paging, useEnv: _useEnv, ...rest } = options;
  for (const [k, v] of Object.entries(rest)) {
    if (v !== undefined) (cfg as unknown as Record<string, unknown>)[k] = v;
  }
  cfg.paging = { ...cfg.paging, ...paging };
  return cfg;
}

/** Apply a partial config from the control API; unknown keys are ignored. */
function applyConfig(cfg: EmulatorConfig, patch: Record<string, unknown>): void {
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  const target = cfg as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) {
    if (k === "paging" && isRecord(v)) {
      cfg.paging = { ...cfg.paging, ...(v as Partial<PagingKnobs>) };
    } else if (k in defaults && k !== "paging" && typeof v === typeof defaults[k]) {
      target[k] = v;
    }
  }
}

type Route = { op: string; run: (ctx: Ctx, req: Request, url: URL) => Promise<Response> };

const CAL_PATH = /^\/calendar\/v3\/calendars\/([^/]+)(?:\/(events)(?:\/([^/]+))?)?\/?$/;

/** Map a request to its Google operation name and handler. */
function route(method: string, path: string): Route | undefined {
  if (path === "/token" || path === "/oauth2/v4/token") {
    return method === "POST" ? { op: "oauth.token", run: tokenEndpoint } : undefined;
  }
  if (path === "/revoke" || path === "/o/oauth2/revoke") {
    return method === "POST" ? { op: "oauth.revoke", run: revokeEndpoint } : undefined;
  }
  if (path === "/calendar/v3/channels/stop" && method === "POST") {
    return {
      op: "channels.stop",
      run: withAuth(async (ctx, email, req) => ctx.push.stop(email, await readJson(req))),
    };
  }
  if (path === "/calendar/v3/users/me/calendarList" && method === "GET") {
    return { op: "calendarList.list", run: withAuth((ctx, email) => calendarList(ctx, email)) };
  }
  if (path === "/calendar/v3/calendars" || path === "/calendar/v3/calendars/") {
    return method === "POST"
      ? {
        op: "calendars.insert",
        run: withAuth(async (ctx, email, req) => insertCalendar(ctx, email, await readJson(req))),
      }
      : undefined;
  }
  const m = CAL_PATH.exec(path);
  if (!m) return undefined;
  const calendarId = decodeURIComponent(m[1]);
  const eventId = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
  /** A handler on one of the caller's calendars; `write` = subject to write pacing. */
  const onCal = (
    op: string,
    fn: (
      ctx: Ctx,
      cal: Calendar,
      req: Request,
      url: URL,
      email: string,
    ) => Response | Promise<Response>,
    write = false,
  ): Route => ({
    op,
    run: withAuth((ctx, email, req, url) => {
      const cal = ctx.store.calendarFor(email, calendarId);
      if (!cal) return notFound();
      if (write) {
        const paced = checkWritePace(ctx, cal);
        if (paced) return paced;
      }
      return fn(ctx, cal, req, url, email);
    }),
  });
  if (!m[2]) {
    if (method === "GET") return onCal("calendars.get", (_ctx, cal) => json(calendarResource(cal)));
    if (method === "DELETE") {
      return onCal("calendars.delete", (ctx, cal) => deleteCalendar(ctx, cal));
    }
    return undefined;
  }
  if (eventId === undefined) {
    if (method === "GET") {
      return onCal("events.list", (ctx, cal, _r, url) => listEvents(ctx, cal, url.searchParams));
    }
    if (method === "POST") {
      return onCal(
        "events.insert",
        async (ctx, cal, req) => insertEvent(ctx, cal, await readJson(req)),
        true,
      );
    }
    return undefined;
  }
  if (eventId === "watch" && method === "POST") {
    return onCal(
      "events.watch",
      async (ctx, cal, req, _u, email) => ctx.push.watch(cal, email, await readJson(req)),
    );
  }
  const ifMatch = (req: Request) => req.headers.get("if-match");
  switch (method) {
    case "GET":
      return onCal(
        "events.get",
        (ctx, cal, req) => getEvent(ctx, cal, eventId, req.headers.get("if-none-match")),
      );
    case "PATCH":
      return onCal(
        "events.patch",
        async (ctx, cal, req) =>
          modifyEvent(ctx, cal, eventId, await readJson(req), "patch", ifMatch(req)),
        true,
      );
    case "PUT":
      return onCal(
        "events.update",
        async (ctx, cal, req) =>
          modifyEvent(ctx, cal, eventId, await readJson(req), "update", ifMatch(req)),
        true,
      );
    case "DELETE":
      return onCal(
        "events.delete",
        (ctx, cal, req) => deleteEvent(ctx, cal, eventId, ifMatch(req)),
        true,
      );
  }
  return undefined;
}

function withAuth(
  fn: (ctx: Ctx, email: string, req: Request, url: URL) => Response | Promise<Response>,
): Route["run"] {
  return async (ctx, req, url) => {
    const at = authenticate(ctx, req, url);
    if (at instanceof Response) return at;
    return await fn(ctx, at.email, req, url);
  };
}

export function startGoogleEmulator(
  options: GoogleEmulatorOptions = {},
): Promise<GoogleEmulator> {
  const startupConfig = configFrom(options);
  const ctx = {
    config: structuredClone(startupConfig),
    clock: new Clock(),
    store: new Store(),
    faults: new Faults(),
    counters: new Counters(),
    baseUrl: "",
  } as Ctx;
  ctx.push = new Push(ctx);

  const reset = async () => {
    await ctx.push.shutdown();
    ctx.config = structuredClone(startupConfig);
    ctx.push.clear();
    ctx.store = new Store();
    ctx.faults.reset();
    ctx.counters.reset();
    ctx.clock.reset();
  };
  const hooks = {
    reset,
    configure: (patch: Record<string, unknown>) => applyConfig(ctx.config, patch),
  };

  /** The calendar a Calendar API path names, for per-calendar counters. */
  const calendarOf = (path: string): string | undefined => {
    const match = /^\/calendar\/v3\/calendars\/([^/]+)/.exec(path);
    if (!match) return undefined;
    try {
      return decodeURIComponent(match[1]);
    } catch {
      return undefined;
    }
  };
  const sleepTimers = new Set<number>();
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    try {
      if (url.pathname.startsWith("/__emulator/")) return await control(ctx, hooks, req, url);
      const r = route(req.method, url.pathname);
      const op = r?.op ?? "unknown";
      ctx.counters.inc(op, calendarOf(url.pathname));
      ctx.counters.enter(op);
      try {
        if (ctx.faults.latencyMs > 0) {
          await new Promise<void>((resolve) => {
            const id = setTimeout(() => {
              sleepTimers.delete(id);
              resolve();
            }, ctx.faults.latencyMs);
            sleepTimers.add(id);
          });
        }
        const fault = ctx.faults.match(op, req, url.pathname);
        if (fault && !fault.after) {
          ctx.faults.fired.push({
            operation: op,
            method: req.method,
            path: url.pathname,
            status: fault.status,
            after: false,
            at: toIso(ctx.clock.now()),
          });
          return faultResponse(fault, op);
        }
        const res = r ? await r.run(ctx, req, url) : notFound();
        if (!fault) return res;
        // The request took effect; the client gets the fault instead of the real answer.
        await res.body?.cancel();
        ctx.faults.fired.push({
          operation: op,
          method: req.method,
          path: url.pathname,
          status: fault.status,
          after: true,
          handledStatus: res.status,
          at: toIso(ctx.clock.now()),
        });
        return faultResponse(fault, op);
      } finally {
        ctx.counters.leave(op);
      }
    } catch (e) {
      if (e instanceof SyntaxError) return googleError(400, "parseError");
      console.error("google emulator: unhandled error", e);
      return googleError(500, "backendError");
    }
  };

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
  }, handler);
  const port = server.addr.port;
  ctx.baseUrl = `http://127.0.0.1:${port}`;

  return Promise.resolve({
    url: ctx.baseUrl,
    port,
    ctx,
    reset,
    flushDeliveries: () => ctx.push.flush(),
    close: async () => {
      for (const id of sleepTimers) clearTimeout(id);
      await ctx.push.shutdown();
      await server.shutdown();
      await ctx.push.shutdown();
    },
  });
}
