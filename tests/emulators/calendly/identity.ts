// Read-only identity resources: GET /users/me, /users/{uuid}, /organizations/{uuid} and
// /event_types/{uuid}. Invariant: a caller sees only users, organizations and event types of
// their own organization (403 otherwise, 404 for unknown uuids).

import type { Ctx } from "./context.ts";
import { notFound, permissionDenied } from "./errors.ts";
import { renderEventType, renderOrg, renderUser } from "./resources.ts";
import type { User } from "./store.ts";
import { json } from "./util.ts";

export const isAdmin = (u: User): boolean => u.role === "owner" || u.role === "admin";

export function getMe(ctx: Ctx, caller: User): Response {
  return json({ resource: renderUser(ctx.store, caller) });
}

export function getUser(ctx: Ctx, caller: User, id: string): Response {
  const user = ctx.store.users.get(id);
  if (!user) return notFound();
  if (user.orgUuid !== caller.orgUuid) return permissionDenied();
  return json({ resource: renderUser(ctx.store, user) });
}

export function getOrganization(ctx: Ctx, caller: User, id: string): Response {
  const org = ctx.store.orgs.get(id);
  if (!org) return notFound();
  if (org.uuid !== caller.orgUuid) return permissionDenied();
  return json({ resource: renderOrg(org) });
}

export function getEventType(ctx: Ctx, caller: User, id: string): Response {
  const et = ctx.store.eventTypes.get(id);
  if (!et) return notFound();
  if (ctx.store.users.get(et.ownerUuid)!.orgUuid !== caller.orgUuid) return permissionDenied();
  return json({ resource: renderEventType(ctx.store, et) });
}
