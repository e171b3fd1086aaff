// Control API for integration webhooks, playing the human in Notion's integration UI:
// create a subscription (Notion POSTs the verification token once, unsigned), verify it by
// pasting the token back, resend the token, change event types / URL / pause, delete; plus the
// delivery log, flush and byte-for-byte redelivery.
// Invariants: a subscription's URL can change only before verification; a wrong token never
// verifies; redelivery replays a logged request with the same body, event id and signature.

import type { Ctx } from "./context.ts";
import { fail } from "./control_content.ts";
import { json } from "./util.ts";
import { KNOWN_TYPES, type Subscription } from "./webhooks.ts";

type Body = Record<string, unknown>;

function parseEventTypes(raw: unknown): string[] | null | string {
  if (raw === undefined || raw === null) return null;
  if (!Array.isArray(raw) || raw.some((t) => typeof t !== "string" || !KNOWN_TYPES.has(t))) {
    return `event_types must be a list of: ${[...KNOWN_TYPES].join(", ")}`;
  }
  return raw as string[];
}

function parseUrl(raw: unknown): string | undefined {
  if (typeof raw !== "string" || !URL.canParse(raw)) return undefined;
  const u = new URL(raw);
  return u.protocol === "http:" || u.protocol === "https:" ? raw : undefined;
}

/** POST /webhooks {integration, url, event_types?, api_version?, wait?} */
export async function createSubscription(ctx: Ctx, body: Body): Promise<Response> {
  const ref = body.integration;
  const integrationId = typeof ref !== "string"
    ? undefined
    : ctx.store.integrations.has(ref)
    ? ref
    : ctx.store.resolveConnection(ref)?.integrationId;
  if (!integrationId) return fail(404, "unknown integration");
  const url = parseUrl(body.url);
  if (!url) return fail(400, "url must be an http(s) URL");
  const types = parseEventTypes(body.event_types);
  if (typeof types === "string") return fail(400, types);
  const apiVersion = typeof body.api_version === "string" ? body.api_version : "2025-09-03";
  const sub = ctx.webhooks.create(integrationId, url, types, apiVersion);
  const sending = ctx.webhooks.sendVerification(sub);
  const verification = body.wait === false ? null : await sending;
  return json({ subscription: ctx.webhooks.describe(sub), verification }, 201);
}

function subscription(ctx: Ctx, id: string): Subscription | undefined {
  return ctx.webhooks.subscriptions.get(id);
}

/** Routes under /webhooks/{id}/... */
export async function subscriptionAction(
  ctx: Ctx,
  method: string,
  id: string,
  action: string | undefined,
  body: Body,
): Promise<Response> {
  const sub = subscription(ctx, id);
  if (!sub) return fail(404, "unknown subscription");
  const route = `${method} ${action ?? ""}`;
  switch (route) {
    case "GET ":
      return json(ctx.webhooks.describe(sub));
    case "DELETE ":
      ctx.webhooks.subscriptions.delete(sub.id);
      return json({ deleted: sub.id });
    case "PATCH ": {
      if (body.url !== undefined) {
        if (sub.verified) return fail(409, "the URL cannot change after verification");
        const url = parseUrl(body.url);
        if (!url) return fail(400, "url must be an http(s) URL");
        sub.url = url;
      }
      if (body.event_types !== undefined) {
        const types = parseEventTypes(body.event_types);
        if (typeof types === "string") return fail(400, types);
        sub.eventTypes = types;
      }
      if (typeof body.paused === "boolean") sub.paused = body.paused;
      return json(ctx.webhooks.describe(sub));
    }
    case "POST verify":
      if (body.verification_token !== sub.verificationToken) {
        return fail(400, "verification_token does not match");
      }
      if (!sub.verified) {
        sub.verified = true;
        sub.verifiedMs = ctx.clock.now();
      }
      return json(ctx.webhooks.describe(sub));
    case "POST resend_token": {
      if (sub.verified) return fail(409, "subscription is already verified");
      const delivery = await ctx.webhooks.sendVerification(sub);
      return json({ subscription: ctx.webhooks.describe(sub), verification: delivery });
    }
  }
  return fail(404, `unknown webhook route ${route}`);
}

/** GET /deliveries?subscription_id=&type= */
export function listDeliveries(ctx: Ctx, url: URL): Response {
  const sub = url.searchParams.get("subscription_id");
  const type = url.searchParams.get("type");
  const deliveries = ctx.webhooks.dispatcher.deliveries.filter((d) =>
    (!sub || d.subscription_id === sub) && (!type || d.type === type)
  );
  return json({ deliveries, ...ctx.webhooks.dispatcher.waiting });
}

/** POST /deliveries/{index}/redeliver {times?, concurrent?} */
export async function redeliver(ctx: Ctx, rawIndex: string, body: Body): Promise<Response> {
  const index = Number(rawIndex);
  const d = ctx.webhooks.dispatcher;
  if (!Number.isInteger(index) || !d.deliveries[index]) return fail(404, "unknown delivery");
  if (d.deliveries[index].body === null) return fail(409, "that delivery was never sent");
  const times = body.times === undefined ? 1 : Number(body.times);
  if (!Number.isInteger(times) || times < 1 || times > 100) return fail(400, "times in [1, 100]");
  const records = await d.redeliver(index, times, body.concurrent === true);
  return json({ deliveries: records });
}
