// Control API, scheduling side: the invitee and the host acting on Calendly (book, cancel,
// reschedule, cancel a whole event), silent seeding, and the ground truth of a user's events.
// Bodies are validated here; the changes themselves live in scheduling.ts. A change returns its
// webhook deliveries: queued (outcome "pending") or, with `wait: true`, finished.

import type { Ctx } from "./context.ts";
import { requireUser } from "./control_accounts.ts";
import type { Delivery, Dispatched } from "./delivery.ts";
import { renderEvent, renderInvitee } from "./resources.ts";
import {
  book,
  cancelEvent,
  cancelOne,
  ControlError,
  type EventSpec,
  type InviteeSpec,
  reschedule,
  seed,
  type SeedEvent,
} from "./scheduling.ts";
import type { Invitee, ScheduledEvent, User } from "./store.ts";
import { isRecord, parseTime } from "./util.ts";

type Body = Record<string, unknown>;

const bool = (b: Body, k: string, dflt: boolean): boolean => {
  if (b[k] === undefined) return dflt;
  if (typeof b[k] !== "boolean") throw new ControlError(400, `${k} must be a boolean`);
  return b[k] as boolean;
};

const optString = (b: Body, k: string): string | null => {
  if (b[k] === undefined || b[k] === null) return null;
  if (typeof b[k] !== "string") throw new ControlError(400, `${k} must be a string`);
  return b[k] as string;
};

const optNumber = (b: Body, k: string): number | undefined => {
  if (b[k] === undefined || b[k] === null) return undefined;
  const n = Number(b[k]);
  if (!Number.isFinite(n)) throw new ControlError(400, `${k} must be a number`);
  return n;
};

function time(b: Body, k: string): number {
  const ms = parseTime(b[k]);
  if (ms === undefined) throw new ControlError(400, `${k} must be an ISO 8601 date-time`);
  return ms;
}

/** start_time + (end_time | duration_minutes | defaultMinutes). */
function timing(b: Body, defaultMinutes: number): Pick<EventSpec, "startMs" | "endMs"> {
  const startMs = time(b, "start_time");
  if (b.end_time !== undefined) return { startMs, endMs: time(b, "end_time") };
  const minutes = optNumber(b, "duration_minutes") ?? defaultMinutes;
  if (!(minutes > 0)) throw new ControlError(400, "duration_minutes must be > 0");
  return { startMs, endMs: startMs + minutes * 60_000 };
}

function inviteeSpec(v: unknown, what = "invitee"): InviteeSpec {
  if (!isRecord(v) || typeof v.email !== "string" || !v.email.includes("@")) {
    throw new ControlError(400, `${what}.email required`);
  }
  const qa = v.questions_and_answers;
  if (qa !== undefined && !Array.isArray(qa)) {
    throw new ControlError(400, `${what}.questions_and_answers must be an array`);
  }
  return {
    email: v.email,
    name: optString(v, "name") ?? undefined,
    first_name: optString(v, "first_name"),
    last_name: optString(v, "last_name"),
    timezone: optString(v, "timezone") ?? undefined,
    questions_and_answers: qa as unknown[] | undefined,
  };
}

function location(b: Body): Record<string, unknown> | undefined {
  if (b.location === undefined) return undefined;
  if (typeof b.location === "string") return { type: "physical", location: b.location };
  if (!isRecord(b.location) || typeof b.location.type !== "string") {
    throw new ControlError(400, "location must be {type, location?} or a string");
  }
  return b.location;
}

function requireEvent(ctx: Ctx, ref: unknown): ScheduledEvent {
  const ev = ctx.store.findEvent(ref);
  if (!ev) throw new ControlError(404, "unknown scheduled event");
  return ev;
}

function requireInvitee(ctx: Ctx, ref: unknown): Invitee {
  const inv = ctx.store.findInvitee(ref);
  if (!inv) throw new ControlError(404, "unknown invitee");
  return inv;
}

async function settle(d: Dispatched | undefined, wait: boolean): Promise<Delivery[]> {
  if (d && wait) await d.done;
  return d?.deliveries ?? [];
}

function order(b: Body): "canceled_first" | "created_first" {
  const o = b.order ?? "canceled_first";
  if (o !== "canceled_first" && o !== "created_first") {
    throw new ControlError(400, "order must be canceled_first or created_first");
  }
  return o;
}

/** POST /__emulator/bookings */
export async function postBooking(ctx: Ctx, b: Body) {
  const join = b.event === undefined ? undefined : requireEvent(ctx, b.event);
  let host: User | undefined;
  let spec: EventSpec | undefined;
  if (!join) {
    host = requireUser(ctx, b.user);
    spec = {
      ...timing(b, 30),
      name: optString(b, "name") ?? undefined,
      limit: optNumber(b, "max_invitees"),
      location: location(b),
    };
  } else if (b.user !== undefined && requireUser(ctx, b.user).uuid !== join.hostUuid) {
    throw new ControlError(409, "the event belongs to another host");
  }
  const r = await book(ctx, {
    host,
    join,
    event: spec,
    invitee: inviteeSpec(b.invitee),
    deliver: bool(b, "deliver", true),
  });
  const deliveries = await settle(r.dispatched, bool(b, "wait", false));
  return {
    event: renderEvent(ctx.store, r.event),
    invitee: renderInvitee(ctx.store, r.invitee),
    deliveries,
  };
}

/** POST /__emulator/invitees/cancel */
export async function postCancelInvitee(ctx: Ctx, b: Body) {
  const inv = requireInvitee(ctx, b.invitee);
  const canceler = b.canceler_type ?? "invitee";
  if (canceler !== "invitee" && canceler !== "host") {
    throw new ControlError(400, "canceler_type must be invitee or host");
  }
  const r = await cancelOne(ctx, inv, {
    reason: optString(b, "reason"),
    cancelerType: canceler,
    deliver: bool(b, "deliver", true),
  });
  const deliveries = await settle(r.dispatched, bool(b, "wait", false));
  return {
    event: renderEvent(ctx.store, r.event),
    invitee: renderInvitee(ctx.store, r.invitee),
    deliveries,
  };
}

/** POST /__emulator/reschedule */
export async function postReschedule(ctx: Ctx, b: Body) {
  const inv = requireInvitee(ctx, b.invitee);
  const old = ctx.store.events.get(inv.eventUuid)!;
  const target = b.event !== undefined
    ? requireEvent(ctx, b.event)
    : timing(b, Math.round((old.endMs - old.startMs) / 60_000));
  const r = await reschedule(ctx, inv, {
    target,
    reason: optString(b, "reason"),
    order: order(b),
    deliver: bool(b, "deliver", true),
  });
  const deliveries = await settle(r.dispatched, bool(b, "wait", false));
  return {
    old_event: renderEvent(ctx.store, r.oldEvent),
    old_invitee: renderInvitee(ctx.store, r.oldInvitee),
    event: renderEvent(ctx.store, r.event),
    invitee: renderInvitee(ctx.store, r.invitee),
    deliveries,
  };
}

/** POST /__emulator/scheduled_events/cancel */
export async function postCancelEvent(ctx: Ctx, b: Body) {
  const ev = requireEvent(ctx, b.event);
  const r = await cancelEvent(ctx, ev, {
    reason: optString(b, "reason"),
    deliver: bool(b, "deliver", true),
  });
  const deliveries = await settle(r.dispatched, bool(b, "wait", false));
  return {
    event: renderEvent(ctx.store, r.event),
    invitees: r.invitees.map((i) => renderInvitee(ctx.store, i)),
    deliveries,
  };
}

function seedInvitees(v: unknown, n: number): InviteeSpec[] {
  if (v === undefined) return [{ email: `guest-${n}@example.com`, name: `Guest ${n}` }];
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 1) throw new ControlError(400, "invitees must be >= 1");
    return Array.from({ length: v }, (_, i) => ({
      email: `guest-${n}-${i + 1}@example.com`,
      name: `Guest ${n}.${i + 1}`,
    }));
  }
  if (!Array.isArray(v) || v.length === 0) {
    throw new ControlError(400, "invitees must be a count or a non-empty array");
  }
  return v.map((x, i) => inviteeSpec(x, `invitees[${i}]`));
}

function seedStatus(v: unknown): "active" | "canceled" {
  if (v === undefined || v === "active" || v === "canceled") return v ?? "active";
  throw new ControlError(400, "status must be active or canceled");
}

/**
 * POST /__emulator/seed — either {user, events:[…]} or a generator {user, count, from?,
 * spacing_minutes?, duration_minutes?, canceled_every?, name?, invitees_per_event?}.
 */
export function postSeed(ctx: Ctx, b: Body) {
  const host = requireUser(ctx, b.user);
  const specs: SeedEvent[] = [];
  if (Array.isArray(b.events)) {
    b.events.forEach((e, i) => {
      if (!isRecord(e)) throw new ControlError(400, `events[${i}] must be an object`);
      specs.push({
        ...timing(e, 30),
        name: optString(e, "name") ?? undefined,
        limit: optNumber(e, "max_invitees"),
        location: location(e),
        status: seedStatus(e.status),
        invitees: seedInvitees(e.invitees, i + 1),
      });
    });
  } else {
    const count = Number(b.count ?? 0);
    if (!Number.isInteger(count) || count < 1 || count > 100_000) {
      throw new ControlError(400, "give events:[…] or count in 1..100000");
    }
    const from = b.from === undefined ? ctx.clock.now() : time(b, "from");
    const spacing = optNumber(b, "spacing_minutes") ?? 60;
    const duration = optNumber(b, "duration_minutes") ?? 30;
    if (!(duration > 0) || !(spacing >= 0)) throw new ControlError(400, "bad spacing/duration");
    const canceledEvery = optNumber(b, "canceled_every") ?? 0;
    const perEvent = optNumber(b, "invitees_per_event") ?? 1;
    const name = optString(b, "name") ?? undefined;
    for (let i = 0; i < count; i++) {
      const startMs = from + i * spacing * 60_000;
      specs.push({
        startMs,
        endMs: startMs + duration * 60_000,
        name,
        status: canceledEvery > 0 && (i + 1) % canceledEvery === 0 ? "canceled" : "active",
        invitees: seedInvitees(perEvent, i + 1),
      });
    }
  }
  const created = seed(ctx, host, specs);
  return { created: created.length, events: created.map((e) => e.uri) };
}

/** GET /__emulator/scheduled_events?user=&status= — every event with its invitees, no auth. */
export function truth(ctx: Ctx, params: URLSearchParams) {
  const { store } = ctx;
  const userRef = params.get("user");
  const user = userRef === null ? undefined : requireUser(ctx, userRef);
  const status = params.get("status");
  const events = [...store.events.values()]
    .filter((ev) => (!user || ev.hostUuid === user.uuid) && (!status || ev.status === status))
    .sort((a, b) => a.startMs - b.startMs || (a.uuid < b.uuid ? -1 : 1));
  return {
    count: events.length,
    collection: events.map((ev) => ({
      ...renderEvent(store, ev),
      invitees: store.inviteesOf(ev).map((i) => renderInvitee(store, i)),
    })),
  };
}
