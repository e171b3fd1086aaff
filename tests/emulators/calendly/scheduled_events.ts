// Scheduled events API: GET /scheduled_events (filters, sort, keyset pagination), GET and
// POST .../cancellation on one event, and its invitees (list and get).
//
// Invariants: `user` alone lists only the caller's own events; `organization` needs an
// owner/admin of that organization (and may be combined with `user`); min_start_time is
// inclusive and max_start_time exclusive; every collection item served is counted in
// counters.items_returned under the operation's name.

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
import { renderEvent, renderInvitee } from "./resources.ts";
import { cancelEvent, ControlError } from "./scheduling.ts";
import type { Invitee, ScheduledEvent, User } from "./store.ts";
import { isRecord, json, parseTime, readJson, toIso } from "./util.ts";

const eventKey = (ev: ScheduledEvent): Key => [ev.startMs, ev.uuid];
const inviteeKey = (inv: Invitee): Key => [inv.createdMs, inv.uuid];

function canSee(caller: User, ev: ScheduledEvent): boolean {
  return ev.hostUuid === caller.uuid || (isAdmin(caller) && ev.orgUuid === caller.orgUuid);
}

function readStatus(params: URLSearchParams, details: ErrorDetail[]): string | null {
  const status = params.get("status");
  if (status !== null && status !== "active" && status !== "canceled") {
    details.push({ parameter: "status", message: "must be one of: active, canceled" });
  }
  return status;
}

/** GET /scheduled_events */
export function listEvents(ctx: Ctx, caller: User, url: URL): Response {
  const { store, config } = ctx;
  const params = url.searchParams;
  const page = readPageRequest(params, {
    defaultCount: config.defaultPageSize,
    maxCount: config.maxPageSize,
    sortField: "start_time",
  });
  if (page instanceof Response) return page;
  const details: ErrorDetail[] = [];
  const status = readStatus(params, details);
  const bound = (name: string) => {
    const raw = params.get(name);
    if (raw === null) return undefined;
    const ms = parseTime(raw);
    if (ms === undefined) details.push({ parameter: name, message: "must be an ISO 8601 time" });
    return ms;
  };
  const minMs = bound("min_start_time");
  const maxMs = bound("max_start_time");
  const userRef = params.get("user");
  const orgRef = params.get("organization");
  if (params.get("group") !== null) {
    details.push({ parameter: "group", message: "groups are not supported by the emulator" });
  } else if (!userRef && !orgRef) {
    details.push({ parameter: "user", message: "user or organization is required" });
  }
  if (details.length > 0) return invalidArgument(details);

  let org: string | undefined;
  if (orgRef) {
    const o = store.findOrg(orgRef);
    if (!o || o.uri !== orgRef || o.uuid !== caller.orgUuid || !isAdmin(caller)) {
      return permissionDenied();
    }
    org = o.uuid;
  }
  let user: User | undefined;
  if (userRef) {
    user = store.findUser(userRef);
    if (!user || user.uri !== userRef) return permissionDenied();
    if (user.uuid !== caller.uuid) {
      if (!org) {
        return permissionDenied(
          user.orgUuid === caller.orgUuid
            ? "Please also specify organization when requesting events for a user within your organization."
            : undefined,
        );
      }
      if (user.orgUuid !== org) return permissionDenied();
    }
  }
  const inviteeEmail = params.get("invitee_email")?.toLowerCase();
  const matches = [...store.events.values()].filter((ev) =>
    (!user || ev.hostUuid === user.uuid) &&
    (!org || ev.orgUuid === org) &&
    (!status || ev.status === status) &&
    (minMs === undefined || ev.startMs >= minMs) &&
    (maxMs === undefined || ev.startMs < maxMs) &&
    (!inviteeEmail ||
      store.inviteesOf(ev).some((i) => i.email.toLowerCase() === inviteeEmail))
  );
  const result = paginate(
    matches,
    eventKey,
    page,
    pageUrlFor(ctx.baseUrl, url),
    config.pageSizeCap,
  );
  ctx.counters.items("scheduled_events.list", result.items.length);
  return json({
    collection: result.items.map((ev) => renderEvent(store, ev)),
    pagination: result.pagination,
  });
}

function visibleEvent(ctx: Ctx, caller: User, id: string): ScheduledEvent | Response {
  const ev = ctx.store.events.get(id);
  if (!ev) return notFound();
  return canSee(caller, ev) ? ev : permissionDenied();
}

/** GET /scheduled_events/{uuid} */
export function getEvent(ctx: Ctx, caller: User, id: string): Response {
  const ev = visibleEvent(ctx, caller, id);
  return ev instanceof Response ? ev : json({ resource: renderEvent(ctx.store, ev) });
}

/** POST /scheduled_events/{uuid}/cancellation {reason?} — the host cancels through the API. */
export async function cancelEventApi(
  ctx: Ctx,
  caller: User,
  id: string,
  req: Request,
): Promise<Response> {
  const ev = visibleEvent(ctx, caller, id);
  if (ev instanceof Response) return ev;
  let body: unknown;
  try {
    body = await readJson(req);
  } catch {
    return invalidArgument([{ parameter: "body", message: "is not valid JSON" }]);
  }
  const reason = isRecord(body) && typeof body.reason === "string" ? body.reason : null;
  if (ev.status !== "active") {
    return apiError(403, "Permission Denied", "Event is already canceled");
  }
  try {
    await cancelEvent(ctx, ev, { reason, deliver: true });
  } catch (e) {
    if (e instanceof ControlError) return apiError(403, "Permission Denied", e.message);
    throw e;
  }
  const c = ev.cancellation!;
  return json({
    resource: {
      canceled_by: c.canceledBy,
      reason: c.reason,
      canceler_type: c.cancelerType,
      created_at: toIso(c.createdMs),
    },
  }, 201);
}

/** GET /scheduled_events/{uuid}/invitees */
export function listInvitees(ctx: Ctx, caller: User, id: string, url: URL): Response {
  const ev = visibleEvent(ctx, caller, id);
  if (ev instanceof Response) return ev;
  const params = url.searchParams;
  const page = readPageRequest(params, {
    defaultCount: ctx.config.defaultPageSize,
    maxCount: ctx.config.maxPageSize,
    sortField: "created_at",
  });
  if (page instanceof Response) return page;
  const details: ErrorDetail[] = [];
  const status = readStatus(params, details);
  if (details.length > 0) return invalidArgument(details);
  const email = params.get("email")?.toLowerCase();
  const matches = ctx.store.inviteesOf(ev).filter((inv) =>
    (!status || inv.status === status) && (!email || inv.email.toLowerCase() === email)
  );
  const result = paginate(
    matches,
    inviteeKey,
    page,
    pageUrlFor(ctx.baseUrl, url),
    ctx.config.pageSizeCap,
  );
  ctx.counters.items("invitees.list", result.items.length);
  return json({
    collection: result.items.map((inv) => renderInvitee(ctx.store, inv)),
    pagination: result.pagination,
  });
}

/** GET /scheduled_events/{uuid}/invitees/{uuid} */
export function getInvitee(ctx: Ctx, caller: User, eventId: string, id: string): Response {
  const ev = visibleEvent(ctx, caller, eventId);
  if (ev instanceof Response) return ev;
  const inv = ctx.store.invitees.get(id);
  if (!inv || inv.eventUuid !== ev.uuid) return notFound();
  return json({ resource: renderInvitee(ctx.store, inv) });
}
