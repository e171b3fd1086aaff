// Test control API under /__emulator/ (JSON in, JSON out; errors {"error": "..."} with
// 400/404/409). Not part of Notion's surface: it creates integrations, databases and people's
// edits, moves the clock, injects faults and exposes what happened (counters, deliveries).
// Invariant: control requests are never counted, faulted, rate limited or authenticated.

import { createConnection, ensureWorkspace, issueAccessToken, issueOAuthPair } from "./accounts.ts";
import type { Ctx } from "./context.ts";
import {
  addDataSource,
  createDatabase,
  describeDatabase,
  fail,
  getPage,
  listPages,
  personCreatePage,
  personEditContent,
  personMovePage,
  personUpdatePage,
  seed,
  share,
} from "./control_content.ts";
import {
  createSubscription,
  listDeliveries,
  redeliver,
  subscriptionAction,
} from "./control_webhooks.ts";
import { faultControl } from "../shared/faults.ts";
import { parseFaultRule } from "./faults.ts";
import { isRecord, json, normalizeId, randomString } from "./util.ts";

export interface ControlHooks {
  reset(): Promise<void>;
  /** Apply a partial config; returns an error message for a bad value. */
  configure(patch: unknown): string | undefined;
}

type Body = Record<string, unknown>;

export async function control(
  ctx: Ctx,
  hooks: ControlHooks,
  req: Request,
  url: URL,
): Promise<Response> {
  const parts = url.pathname.replace(/^\/__emulator\/?/, "").split("/").filter(Boolean)
    .map(decodeURIComponent);
  const method = req.method;
  let body: Body = {};
  if (method !== "GET" && method !== "DELETE") {
    try {
      const text = await req.text();
      const parsed = text.trim() === "" ? {} : JSON.parse(text);
      if (!isRecord(parsed)) return fail(400, "body must be a JSON object");
      body = parsed;
    } catch {
      return fail(400, "malformed JSON");
    }
  }
  const [head, id, ...rest] = parts;
  const withId = ["databases", "pages", "data_sources", "webhooks", "deliveries"].includes(head) &&
    id !== undefined && !(head === "deliveries" && id === "flush");
  const route = withId
    ? `${method} /${head}/:id${rest.length ? `/${rest.join("/")}` : ""}`
    : `${method} /${parts.join("/")}`;

  const faultRoute = faultControl(route, body, ctx.faults, parseFaultRule, { json, fail });
  if (faultRoute) return faultRoute;
  switch (route) {
    case "POST /reset":
      await hooks.reset();
      return json({ ok: true });
    case "GET /health":
      return json({ ok: true, emulator: "notion" });

    case "GET /config":
      return json(ctx.config);
    case "POST /config":
    case "PATCH /config": {
      const error = hooks.configure(body);
      return error ? fail(400, error) : json(ctx.config);
    }

    case "POST /integrations":
      return createIntegration(ctx, body);
    case "GET /integrations":
      return json({ integrations: describeConnections(ctx) });
    case "POST /auth_codes":
      return createAuthCode(ctx, body);
    case "POST /tokens/expire":
      return expireTokens(ctx, body);
    case "POST /tokens/revoke": {
      const at = typeof body.token === "string"
        ? ctx.store.accessTokens.get(body.token)
        : undefined;
      if (!at) return fail(404, "unknown token");
      at.revoked = true;
      return json({ revoked: true });
    }

    case "POST /databases":
      return createDatabase(ctx, body);
    case "GET /databases/:id": {
      const db = ctx.store.databases.get(normalizeId(id) ?? "");
      return db ? json(describeDatabase(ctx, db)) : fail(404, "unknown database");
    }
    case "POST /databases/:id/data_sources":
      return addDataSource(ctx, id, body);
    case "POST /share":
      return share(ctx, body);

    case "POST /pages":
      return personCreatePage(ctx, body);
    case "GET /pages/:id":
      return getPage(ctx, id);
    case "PATCH /pages/:id":
      return personUpdatePage(ctx, id, body);
    case "POST /pages/:id/content":
      return personEditContent(ctx, id, body);
    case "POST /pages/:id/move":
      return personMovePage(ctx, id, body);
    case "GET /data_sources/:id/pages":
      return listPages(ctx, id, url);
    case "POST /seed":
      return seed(ctx, body);

    case "GET /clock":
      return json(ctx.clock.describe());
    case "POST /clock": {
      const wrong = ctx.clock.move(body);
      return wrong ? fail(400, wrong) : json(ctx.clock.describe());
    }

    case "GET /faults":
      return json({ rules: ctx.faults.rules, latency_ms: ctx.faults.latencyMs });
    case "DELETE /faults":
      ctx.faults.rules = [];
      return json({ rules: [] });

    case "GET /counters":
      return json(counters(ctx));
    case "POST /counters/reset":
    case "DELETE /counters":
      ctx.counters.reset();
      ctx.limiter.resetStats();
      return json(counters(ctx));

    case "POST /webhooks":
      return await createSubscription(ctx, body);
    case "GET /webhooks":
      return json({
        subscriptions: [...ctx.webhooks.subscriptions.values()].map((s) =>
          ctx.webhooks.describe(s)
        ),
      });
    case "GET /deliveries":
      return listDeliveries(ctx, url);
    case "DELETE /deliveries":
      ctx.webhooks.dispatcher.deliveries = [];
      return json({ deliveries: [] });
    case "POST /deliveries/flush":
      await ctx.webhooks.dispatcher.flush();
      return json({ deliveries: ctx.webhooks.dispatcher.deliveries.length });
    case "POST /deliveries/:id/redeliver":
      return await redeliver(ctx, id, body);
  }
  if (head === "webhooks" && id !== undefined && rest.length <= 1) {
    return await subscriptionAction(ctx, method, id, rest[0], body);
  }
  return fail(404, `unknown control route ${method} ${url.pathname}`);
}

function counters(ctx: Ctx) {
  return {
    counts: ctx.counters.snapshot(),
    rate_limited: ctx.limiter.limitedSnapshot(),
    max_requests_per_second: ctx.limiter.maxServedSnapshot(),
    max_attempts_per_second: ctx.limiter.maxAttemptedSnapshot(),
    max_in_flight: ctx.counters.maxInFlightSnapshot(),
    refresh_token_reuse: ctx.counters.refreshTokenReuse,
  };
}

/** POST /integrations {name?, workspace_name?, workspace_id?, public?} */
function createIntegration(ctx: Ctx, body: Body): Response {
  const str = (k: string) => (typeof body[k] === "string" ? (body[k] as string) : undefined);
  const conn = createConnection(ctx, {
    kind: body.public === true ? "public" : "internal",
    name: str("name"),
    workspaceId: str("workspace_id"),
    workspaceName: str("workspace_name"),
  });
  const kind = ctx.store.integrations.get(conn.integrationId)!.kind;
  // Internal: a never-expiring ntn_ token. Public: an OAuth pair, as if the code was redeemed.
  let token: string;
  let refreshToken: string | null = null;
  if (kind === "public") {
    const [at, rt] = issueOAuthPair(ctx, conn);
    token = at.token;
    refreshToken = rt.token;
  } else token = issueAccessToken(ctx, conn, "internal").token;
  const ws = ctx.store.workspaces.get(conn.workspaceId)!;
  return json({
    integration_id: conn.integrationId,
    bot_user_id: conn.botUserId,
    workspace_id: ws.id,
    workspace_name: ws.name,
    kind,
    token,
    refresh_token: refreshToken,
  }, 201);
}

function describeConnections(ctx: Ctx) {
  return [...ctx.store.connections.values()].map((c) => ({
    integration_id: c.integrationId,
    kind: ctx.store.integrations.get(c.integrationId)?.kind,
    bot_user_id: c.botUserId,
    workspace_id: c.workspaceId,
    workspace_name: ctx.store.workspaces.get(c.workspaceId)?.name,
    owner_user_id: c.ownerUserId,
    tokens: [...ctx.store.accessTokens.values()]
      .filter((t) => t.botUserId === c.botUserId)
      .map((t) => ({
        token: t.token,
        kind: t.kind,
        revoked: t.revoked,
        expires_at: t.expiresAtMs === null ? null : new Date(t.expiresAtMs).toISOString(),
      })),
  }));
}

/**
 * POST /auth_codes {integration?, code?, redirect_uri?, workspace_name?}: a user completes the
 * consent screen. Without `integration`, a new workspace authorizes the public integration.
 */
function createAuthCode(ctx: Ctx, body: Body): Response {
  let conn;
  if (body.integration !== undefined) {
    conn = typeof body.integration === "string"
      ? ctx.store.resolveConnection(body.integration)
      : undefined;
    if (!conn) return fail(404, "unknown integration");
  } else {
    const ws = ensureWorkspace(
      ctx,
      undefined,
      typeof body.workspace_name === "string" ? body.workspace_name : undefined,
    );
    conn = createConnection(ctx, { kind: "public", workspaceId: ws.id });
  }
  const code = typeof body.code === "string" ? body.code : `code-${randomString(24)}`;
  if (ctx.store.authCodes.has(code)) return fail(409, "code already issued");
  const redirectUri = typeof body.redirect_uri === "string" ? body.redirect_uri : null;
  ctx.store.authCodes.set(code, {
    code,
    botUserId: conn.botUserId,
    redirectUri,
    expiresAtMs: ctx.clock.now() + ctx.config.authCodeTtlSeconds * 1000,
    used: false,
  });
  return json({
    code,
    redirect_uri: redirectUri,
    integration_id: conn.integrationId,
    bot_user_id: conn.botUserId,
    workspace_id: conn.workspaceId,
  }, 201);
}

/** POST /tokens/expire {token?}: expire one or every OAuth access token now. */
function expireTokens(ctx: Ctx, body: Body): Response {
  const now = ctx.clock.now();
  let expired = 0;
  for (const t of ctx.store.accessTokens.values()) {
    if (t.kind !== "oauth" || (typeof body.token === "string" && t.token !== body.token)) continue;
    t.expiresAtMs = now;
    expired++;
  }
  return json({ expired });
}
