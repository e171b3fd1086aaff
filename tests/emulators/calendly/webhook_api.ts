// Webhook subscriptions API: POST/GET /webhook_subscriptions, GET/DELETE
// /webhook_subscriptions/{uuid}.
//
// Invariants: the signing key is stored but never returned; a second subscription with the same
// callback url for the same owner (same user for user scope, same organization for
// organization scope) is refused with 409 "Already Exists", whatever the first one's state; a
// caller only sees subscriptions of their own organization.

import type { Ctx } from "./context.ts";
import {
  apiError,
  type ErrorDetail,
  invalidArgument,
  notFound,
  permissionDenied,
} from "./errors.ts";
import { isAdmin } from "./identity.ts";
import { type Key, pageUrlFor, paginate, readPageRequest } from "./pagination.ts";
import { renderSubscription } from "./resources.ts";
import type { Subscription, User } from "./store.ts";
import { empty, isRecord, json, readJson, uuid } from "./util.ts";

export const WEBHOOK_EVENTS = new Set([
  "invitee.created",
  "invitee.canceled",
  "invitee_no_show.created",
  "invitee_no_show.deleted",
  "event_type.created",
  "event_type.updated",
  "event_type.deleted",
  "routing_form_submission.created",
]);

const SCOPES = new Set(["organization", "user", "group"]);
const FREE_PLANS = new Set(["basic", "free"]);

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** POST /webhook_subscriptions */
export async function createSubscription(ctx: Ctx, caller: User, req: Request): Promise<Response> {
  const { store } = ctx;
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    return invalidArgument([{ parameter: "body", message: "is not valid JSON" }]);
  }
  const b = isRecord(body) ? body : {};
  const details: ErrorDetail[] = [];
  const str = (k: string) => (typeof b[k] === "string" && b[k] !== "" ? (b[k] as string) : null);
  const url = str("url");
  if (url === null) details.push({ parameter: "url", message: "is required" });
  else if (!isHttpUrl(url)) details.push({ parameter: "url", message: "must be a valid URL" });
  const events = b.events;
  if (!Array.isArray(events) || events.length === 0) {
    details.push({ parameter: "events", message: "is required" });
  } else {
    const bad = events.filter((e) => typeof e !== "string" || !WEBHOOK_EVENTS.has(e));
    if (bad.length > 0) {
      details.push({ parameter: "events", message: `contains unknown events: ${bad.join(", ")}` });
    }
  }
  const orgRef = str("organization");
  if (orgRef === null) details.push({ parameter: "organization", message: "is required" });
  const scope = str("scope");
  if (scope === null) details.push({ parameter: "scope", message: "is required" });
  else if (!SCOPES.has(scope)) {
    details.push({ parameter: "scope", message: "must be one of: organization, user, group" });
  }
  const userRef = str("user");
  const groupRef = str("group");
  if (scope === "user" && userRef === null) {
    details.push({ parameter: "user", message: "is required for user scope" });
  }
  if (scope === "group" && groupRef === null) {
    details.push({ parameter: "group", message: "is required for group scope" });
  }
  if (
    scope !== "organization" && Array.isArray(events) &&
    events.includes("routing_form_submission.created")
  ) {
    details.push({
      parameter: "events",
      message: "routing_form_submission.created is only available with organization scope",
    });
  }
  const signingKey = b.signing_key;
  if (signingKey !== undefined && signingKey !== null && typeof signingKey !== "string") {
    details.push({ parameter: "signing_key", message: "must be a string" });
  }
  if (details.length > 0) return invalidArgument(details);

  const org = store.findOrg(orgRef);
  if (!org || org.uri !== orgRef || org.uuid !== caller.orgUuid) return permissionDenied();
  if (FREE_PLANS.has(org.plan)) {
    return permissionDenied("Please upgrade your Calendly account to Standard");
  }
  let owner: User | undefined;
  if (scope === "user") {
    owner = store.findUser(userRef);
    if (!owner || owner.uri !== userRef || owner.orgUuid !== org.uuid) return permissionDenied();
    if (owner.uuid !== caller.uuid && !isAdmin(caller)) return permissionDenied();
  } else if (!isAdmin(caller)) {
    return permissionDenied();
  }
  const duplicate = [...store.subscriptions.values()].some((s) =>
    s.callbackUrl === url && s.scope === scope && s.orgUri === org.uri &&
    (scope !== "user" || s.userUri === owner!.uri) && (scope !== "group" || s.groupUri === groupRef)
  );
  if (duplicate) return apiError(409, "Already Exists", "Hook with this url already exists");

  const now = ctx.clock.now();
  const id = uuid();
  const sub: Subscription = {
    uuid: id,
    uri: store.uri(`webhook_subscriptions/${id}`),
    callbackUrl: url!,
    events: [...new Set(events as string[])],
    scope: scope as Subscription["scope"],
    orgUri: org.uri,
    userUri: scope === "user" ? owner!.uri : null,
    groupUri: scope === "group" ? groupRef : null,
    creatorUri: caller.uri,
    signingKey: typeof signingKey === "string" && signingKey !== "" ? signingKey : undefined,
    state: "active",
    retryStartedMs: null,
    consecutiveFailures: 0,
    createdMs: now,
    updatedMs: now,
  };
  store.subscriptions.set(id, sub);
  return json({ resource: renderSubscription(sub) }, 201, { location: sub.uri });
}

/** GET /webhook_subscriptions?organization=&scope=[&user=][&group=] */
export function listSubscriptions(ctx: Ctx, caller: User, url: URL): Response {
  const { store } = ctx;
  const params = url.searchParams;
  const page = readPageRequest(params, {
    defaultCount: ctx.config.defaultPageSize,
    maxCount: ctx.config.maxPageSize,
    sortField: "created_at",
  });
  if (page instanceof Response) return page;
  const details: ErrorDetail[] = [];
  const orgRef = params.get("organization");
  const scope = params.get("scope");
  const userRef = params.get("user");
  const groupRef = params.get("group");
  if (!orgRef) details.push({ parameter: "organization", message: "is required" });
  if (!scope) details.push({ parameter: "scope", message: "is required" });
  else if (!SCOPES.has(scope)) {
    details.push({ parameter: "scope", message: "must be one of: organization, user, group" });
  }
  if (scope === "user" && !userRef) {
    details.push({ parameter: "user", message: "is required for user scope" });
  }
  if (scope === "group" && !groupRef) {
    details.push({ parameter: "group", message: "is required for group scope" });
  }
  if (details.length > 0) return invalidArgument(details);
  const org = store.findOrg(orgRef);
  if (!org || org.uri !== orgRef || org.uuid !== caller.orgUuid) return permissionDenied();
  if (scope === "user" && userRef !== caller.uri && !isAdmin(caller)) return permissionDenied();
  const matches = [...store.subscriptions.values()].filter((s) => {
    ctx.deliveries.checkHealth(s);
    return s.orgUri === org.uri && s.scope === scope &&
      (scope !== "user" || s.userUri === userRef) && (scope !== "group" || s.groupUri === groupRef);
  });
  const result = paginate(
    matches,
    (s): Key => [s.createdMs, s.uuid],
    page,
    pageUrlFor(ctx.baseUrl, url),
    ctx.config.pageSizeCap,
  );
  ctx.counters.items("webhook_subscriptions.list", result.items.length);
  return json({ collection: result.items.map(renderSubscription), pagination: result.pagination });
}

function visible(ctx: Ctx, caller: User, id: string): Subscription | Response {
  const sub = ctx.store.subscriptions.get(id);
  if (!sub) return notFound();
  if (sub.orgUri !== ctx.store.orgs.get(caller.orgUuid)!.uri) return permissionDenied();
  if (sub.scope !== "user" || sub.userUri === caller.uri || isAdmin(caller)) {
    ctx.deliveries.checkHealth(sub);
    return sub;
  }
  return permissionDenied();
}

/** GET /webhook_subscriptions/{uuid} */
export function getSubscription(ctx: Ctx, caller: User, id: string): Response {
  const sub = visible(ctx, caller, id);
  return sub instanceof Response ? sub : json({ resource: renderSubscription(sub) });
}

/** DELETE /webhook_subscriptions/{uuid} → 204 */
export function deleteSubscription(ctx: Ctx, caller: User, id: string): Response {
  const sub = visible(ctx, caller, id);
  if (sub instanceof Response) return sub;
  ctx.store.subscriptions.delete(sub.uuid);
  return empty(204);
}
