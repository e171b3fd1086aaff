// Test control API under /__emulator/ (JSON in, JSON out; errors `{"error"}` with 400/404/409).
// Not part of Calendly's surface: it plays the invitee and the host, seeds state, moves the
// clock, injects faults and exposes what happened (counters, subscriptions, deliveries).
// This module only routes; accounts and scheduling actions live in control_*.ts.

import type { Ctx } from "./context.ts";
import {
  createAuthCode,
  createUser,
  expireAccess,
  listUsers,
  revokeRefresh,
} from "./control_accounts.ts";
import {
  postBooking,
  postCancelEvent,
  postCancelInvitee,
  postReschedule,
  postSeed,
  truth,
} from "./control_scheduling.ts";
import { faultControl } from "../shared/faults.ts";
import { parseFaultRule } from "./faults.ts";
import { renderSubscription } from "./resources.ts";
import { ControlError } from "./scheduling.ts";
import { isRecord, json, readJson } from "./util.ts";

export interface ControlHooks {
  /** Full reset: state, tokens, faults, counters, deliveries, clock, config → startup values. */
  reset(): Promise<void>;
  /** Apply a partial config; returns the rejected keys. */
  configure(patch: Record<string, unknown>): string[];
}

const fail = (status: number, error: string) => json({ error }, status);

export async function control(
  ctx: Ctx,
  hooks: ControlHooks,
  req: Request,
  url: URL,
): Promise<Response> {
  const parts = url.pathname.replace(/^\/__emulator\/?/, "").split("/").filter(Boolean)
    .map(decodeURIComponent);
  let body: Record<string, unknown> = {};
  if (req.method !== "GET" && req.method !== "DELETE") {
    try {
      const parsed = await readJson(req);
      if (parsed !== undefined && !isRecord(parsed)) return fail(400, "body must be an object");
      body = parsed ?? {};
    } catch {
      return fail(400, "malformed JSON");
    }
  }
  // subscriptions/{uuid}/… and deliveries/{index}/… carry an id in the second segment.
  const hasId = (parts[0] === "subscriptions" || parts[0] === "deliveries") && parts.length > 2;
  const route = `${req.method} /${parts.map((p, i) => (i === 1 && hasId ? ":id" : p)).join("/")}`;
  try {
    const result = await dispatch(ctx, hooks, route, parts[1], body, url);
    return result ?? fail(404, `unknown control route ${req.method} ${url.pathname}`);
  } catch (e) {
    if (e instanceof ControlError) return fail(e.status, e.message);
    throw e;
  }
}

async function dispatch(
  ctx: Ctx,
  hooks: ControlHooks,
  route: string,
  id: string,
  body: Record<string, unknown>,
  url: URL,
): Promise<Response | undefined> {
  const { clock } = ctx;
  const faultRoute = faultControl(route, body, ctx.faults, parseFaultRule, { json, fail });
  if (faultRoute) return faultRoute;
  switch (route) {
    case "POST /reset":
      await hooks.reset();
      return json({ ok: true });

    case "GET /config":
      return json(ctx.config);
    case "POST /config":
    case "PATCH /config": {
      const rejected = hooks.configure(body);
      if (rejected.length > 0) return fail(400, `rejected config keys: ${rejected.join(", ")}`);
      return json(ctx.config);
    }

    case "GET /users":
      return json(listUsers(ctx));
    case "POST /users":
      return json(createUser(ctx, body), 201);
    case "POST /auth_codes":
      return json(createAuthCode(ctx, body), 201);
    case "POST /refresh_tokens/revoke":
      return json(revokeRefresh(ctx, body));
    case "POST /access_tokens/expire":
      return json(expireAccess(ctx));

    case "POST /bookings":
      return json(await postBooking(ctx, body), 201);
    case "POST /invitees/cancel":
      return json(await postCancelInvitee(ctx, body));
    case "POST /reschedule":
      return json(await postReschedule(ctx, body), 201);
    case "POST /scheduled_events/cancel":
      return json(await postCancelEvent(ctx, body));
    case "POST /seed":
      return json(postSeed(ctx, body), 201);
    case "GET /scheduled_events":
      return json(truth(ctx, url.searchParams));

    case "GET /subscriptions":
      return json({
        subscriptions: [...ctx.store.subscriptions.values()].map((s) => {
          ctx.deliveries.checkHealth(s);
          return {
            ...renderSubscription(s),
            uuid: s.uuid,
            signing_key: s.signingKey ?? ctx.config.appSigningKey,
            uses_app_signing_key: s.signingKey === undefined,
            consecutive_failures: s.consecutiveFailures,
          };
        }),
      });
    case "POST /subscriptions/:id/state": {
      const sub = ctx.store.subscriptions.get(id);
      if (!sub) return fail(404, "unknown subscription");
      if (body.state !== "active" && body.state !== "disabled") {
        return fail(400, "state must be active or disabled");
      }
      sub.state = body.state;
      if (body.state === "active") {
        sub.consecutiveFailures = 0;
        sub.retryStartedMs = null;
      }
      sub.updatedMs = Math.max(clock.now(), sub.updatedMs + 1);
      return json(renderSubscription(sub));
    }

    case "GET /deliveries": {
      const p = url.searchParams;
      const match = (v: string, k: string) => p.get(k) === null || p.get(k) === v;
      return json({
        deliveries: ctx.deliveries.log.filter((d) =>
          (match(d.subscription, "subscription") || match(d.subscription_uuid, "subscription")) &&
          match(d.event, "event") && match(d.invitee ?? "", "invitee")
        ),
      });
    }
    case "DELETE /deliveries":
      ctx.deliveries.clear();
      return json({ deliveries: 0 });
    case "POST /deliveries/flush":
      await ctx.deliveries.flush();
      return json({ deliveries: ctx.deliveries.log.length });
    case "POST /deliveries/:id/redeliver": {
      const times = Number(body.times ?? 1);
      if (!Number.isInteger(times) || times < 1 || times > 100) {
        return fail(400, "times must be in 1..100");
      }
      const r = await ctx.deliveries.redeliver(Number(id), {
        times,
        concurrent: body.concurrent === true,
        resign: body.resign === true,
      });
      if (typeof r === "string") return fail(r === "unknown delivery" ? 404 : 409, r);
      if (body.wait !== false) await r.done;
      return json({ deliveries: r.deliveries });
    }

    case "GET /clock":
      return json(clock.describe());
    case "POST /clock": {
      const wrong = clock.move(body);
      return wrong ? fail(400, wrong) : json(clock.describe());
    }

    case "GET /faults":
      return json({ rules: ctx.faults.rules });
    case "DELETE /faults":
      ctx.faults.rules = [];
      return json({ rules: [] });

    case "GET /counters":
      return json(ctx.counters.report());
    case "POST /counters/reset":
    case "DELETE /counters":
      ctx.counters.reset();
      return json(ctx.counters.report());
  }
  return undefined;
}
