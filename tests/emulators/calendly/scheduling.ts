// What invitees and hosts do on Calendly's side: book (new event or joining a group event),
// cancel an invitee, reschedule, cancel a whole event, and silent seeding. The control API drives
// these; each change returns the webhook messages it causes (queued unless `deliver` is false).
//
// Invariants:
// - An event is canceled exactly when its last active invitee is canceled (or the host cancels
//   it); canceling one invitee of a group event leaves the event active.
// - A reschedule creates a NEW event and a NEW invitee; the old invitee is canceled with
//   `rescheduled: true` and points at the new one (`new_invitee`), the new one at the old one.
// - Every change moves `updated_at` of what changed strictly forward, even on a frozen clock.

import type { Ctx } from "./context.ts";
import type { Dispatched, DispatchItem } from "./delivery.ts";
import type { Cancellation, Invitee, ScheduledEvent, Status, User } from "./store.ts";
import { uuid } from "./util.ts";

/** A refusal the control API turns into `{"error"}` with this status. */
export class ControlError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export interface InviteeSpec {
  email: string;
  name?: string;
  first_name?: string | null;
  last_name?: string | null;
  timezone?: string;
  questions_and_answers?: unknown[];
}

export interface EventSpec {
  startMs: number;
  endMs: number;
  name?: string;
  limit?: number;
  location?: Record<string, unknown>;
}

export interface ChangeResult {
  event: ScheduledEvent;
  invitee: Invitee;
  dispatched?: Dispatched;
}

function touch(rec: { updatedMs: number }, nowMs: number): void {
  rec.updatedMs = Math.max(nowMs, rec.updatedMs + 1);
}

const DEFAULT_LOCATION = { type: "physical", location: "Emulated meeting room" };

export function createEvent(ctx: Ctx, host: User, spec: EventSpec): ScheduledEvent {
  const { store } = ctx;
  const now = ctx.clock.now();
  if (!(spec.endMs > spec.startMs)) {
    throw new ControlError(400, "end_time must be after start_time");
  }
  const limit = spec.limit ?? 1;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ControlError(400, "max_invitees must be >= 1");
  }
  const minutes = Math.round((spec.endMs - spec.startMs) / 60_000);
  const name = spec.name ?? (limit > 1 ? "Group Meeting" : `${minutes} Minute Meeting`);
  const et = store.eventTypeFor(host, name, minutes, limit, now);
  const id = uuid();
  const ev: ScheduledEvent = {
    uuid: id,
    uri: store.uri(`scheduled_events/${id}`),
    hostUuid: host.uuid,
    orgUuid: host.orgUuid,
    eventTypeUuid: et.uuid,
    name,
    startMs: spec.startMs,
    endMs: spec.endMs,
    status: "active",
    location: spec.location ?? { ...DEFAULT_LOCATION },
    limit,
    inviteeUuids: [],
    createdMs: now,
    updatedMs: now,
  };
  store.events.set(id, ev);
  return ev;
}

export function addInvitee(
  ctx: Ctx,
  ev: ScheduledEvent,
  spec: InviteeSpec,
  oldInvitee: string | null = null,
): Invitee {
  const { store } = ctx;
  const now = ctx.clock.now();
  if (ev.status !== "active") throw new ControlError(409, "the scheduled event is canceled");
  const active = store.inviteesOf(ev).filter((i) => i.status === "active").length;
  if (active >= ev.limit) {
    throw new ControlError(409, `the scheduled event is full (limit ${ev.limit})`);
  }
  const host = store.users.get(ev.hostUuid)!;
  const id = uuid();
  const inv: Invitee = {
    uuid: id,
    uri: `${ev.uri}/invitees/${id}`,
    eventUuid: ev.uuid,
    email: spec.email,
    name: spec.name ??
      ([spec.first_name, spec.last_name].filter(Boolean).join(" ") || spec.email.split("@")[0]),
    firstName: spec.first_name ?? null,
    lastName: spec.last_name ?? null,
    timezone: spec.timezone ?? host.timezone,
    status: "active",
    rescheduled: false,
    oldInvitee,
    newInvitee: null,
    questionsAndAnswers: spec.questions_and_answers ?? [],
    createdMs: now,
    updatedMs: now,
  };
  store.invitees.set(id, inv);
  ev.inviteeUuids.push(id);
  touch(ev, now);
  return inv;
}

/** Cancel one invitee; the event follows when no active invitee is left. */
export function cancelInvitee(
  ctx: Ctx,
  inv: Invitee,
  how: Omit<Cancellation, "createdMs">,
  rescheduledTo: Invitee | null = null,
): void {
  const { store } = ctx;
  const now = ctx.clock.now();
  if (inv.status !== "active") throw new ControlError(409, "the invitee is already canceled");
  const ev = store.events.get(inv.eventUuid)!;
  inv.status = "canceled";
  inv.cancellation = { ...how, createdMs: now };
  if (rescheduledTo) {
    inv.rescheduled = true;
    inv.newInvitee = rescheduledTo.uri;
  }
  touch(inv, now);
  touch(ev, now);
  if (ev.status === "active" && !store.inviteesOf(ev).some((i) => i.status === "active")) {
    ev.status = "canceled";
    ev.cancellation = { ...how, createdMs: now };
  }
}

async function deliver(ctx: Ctx, items: DispatchItem[], enabled: boolean) {
  return enabled ? await ctx.deliveries.dispatch(items) : undefined;
}

export interface BookInput {
  host?: User;
  /** Join this (group) event instead of creating one. */
  join?: ScheduledEvent;
  event?: EventSpec;
  invitee: InviteeSpec;
  deliver: boolean;
}

/** An invitee books: a new scheduled event, or a seat in an existing group event. */
export async function book(ctx: Ctx, input: BookInput): Promise<ChangeResult> {
  let ev = input.join;
  if (!ev) {
    if (!input.host || !input.event) throw new ControlError(400, "user and start_time required");
    ev = createEvent(ctx, input.host, input.event);
  }
  const invitee = addInvitee(ctx, ev, input.invitee);
  const dispatched = await deliver(
    ctx,
    [{ name: "invitee.created", invitee }],
    input.deliver,
  );
  return { event: ev, invitee, dispatched };
}

/** An invitee (or the host, for this invitee only) cancels. */
export async function cancelOne(
  ctx: Ctx,
  inv: Invitee,
  opts: { reason: string | null; cancelerType: "host" | "invitee"; deliver: boolean },
): Promise<ChangeResult> {
  const ev = ctx.store.events.get(inv.eventUuid)!;
  const host = ctx.store.users.get(ev.hostUuid)!;
  cancelInvitee(ctx, inv, {
    canceledBy: opts.cancelerType === "host" ? host.name : inv.name,
    reason: opts.reason,
    cancelerType: opts.cancelerType,
  });
  const dispatched = await deliver(ctx, [{ name: "invitee.canceled", invitee: inv }], opts.deliver);
  return { event: ev, invitee: inv, dispatched };
}

export interface RescheduleResult {
  oldEvent: ScheduledEvent;
  oldInvitee: Invitee;
  event: ScheduledEvent;
  invitee: Invitee;
  dispatched?: Dispatched;
}

/** The invitee moves to a new time: new event + new invitee, old invitee canceled. */
export async function reschedule(
  ctx: Ctx,
  inv: Invitee,
  opts: {
    target: EventSpec | ScheduledEvent;
    reason: string | null;
    order: "canceled_first" | "created_first";
    deliver: boolean;
  },
): Promise<RescheduleResult> {
  const { store } = ctx;
  if (inv.status !== "active") throw new ControlError(409, "the invitee is already canceled");
  const oldEvent = store.events.get(inv.eventUuid)!;
  const host = store.users.get(oldEvent.hostUuid)!;
  let event: ScheduledEvent;
  if ("uuid" in opts.target) {
    event = opts.target;
    if (event.uuid === oldEvent.uuid) throw new ControlError(409, "cannot reschedule into itself");
  } else {
    event = createEvent(ctx, host, {
      name: oldEvent.name,
      limit: oldEvent.limit,
      location: structuredClone(oldEvent.location),
      ...opts.target,
    });
  }
  const invitee = addInvitee(ctx, event, {
    email: inv.email,
    name: inv.name,
    first_name: inv.firstName,
    last_name: inv.lastName,
    timezone: inv.timezone,
    questions_and_answers: structuredClone(inv.questionsAndAnswers),
  }, inv.uri);
  cancelInvitee(
    ctx,
    inv,
    { canceledBy: inv.name, reason: opts.reason, cancelerType: "invitee" },
    invitee,
  );
  const canceled = { name: "invitee.canceled", invitee: inv };
  const created = { name: "invitee.created", invitee };
  const items = opts.order === "created_first" ? [created, canceled] : [canceled, created];
  const dispatched = await deliver(ctx, items, opts.deliver);
  return { oldEvent, oldInvitee: inv, event, invitee, dispatched };
}

/** The host cancels the whole event: every active invitee is canceled (one message each). */
export async function cancelEvent(
  ctx: Ctx,
  ev: ScheduledEvent,
  opts: { reason: string | null; deliver: boolean },
): Promise<{ event: ScheduledEvent; invitees: Invitee[]; dispatched?: Dispatched }> {
  const { store } = ctx;
  if (ev.status !== "active") {
    throw new ControlError(409, "the scheduled event is already canceled");
  }
  const host = store.users.get(ev.hostUuid)!;
  const how = { canceledBy: host.name, reason: opts.reason, cancelerType: "host" as const };
  const now = ctx.clock.now();
  ev.status = "canceled";
  ev.cancellation = { ...how, createdMs: now };
  const invitees = store.inviteesOf(ev).filter((i) => i.status === "active");
  for (const inv of invitees) cancelInvitee(ctx, inv, how);
  touch(ev, now);
  const dispatched = await deliver(
    ctx,
    invitees.map((invitee) => ({ name: "invitee.canceled", invitee })),
    opts.deliver,
  );
  return { event: ev, invitees, dispatched };
}

export interface SeedEvent extends EventSpec {
  status: Status;
  invitees: InviteeSpec[];
}

/** Create events silently (no webhook messages), e.g. hundreds for a full-sync test. */
export function seed(ctx: Ctx, host: User, events: SeedEvent[]): ScheduledEvent[] {
  const created: ScheduledEvent[] = [];
  for (const spec of events) {
    const limit = Math.max(spec.limit ?? 1, spec.invitees.length);
    const ev = createEvent(ctx, host, { ...spec, limit });
    for (const inv of spec.invitees) addInvitee(ctx, ev, inv);
    if (spec.status === "canceled") {
      const how = { canceledBy: host.name, reason: null, cancelerType: "host" as const };
      ev.status = "canceled";
      ev.cancellation = { ...how, createdMs: ctx.clock.now() };
      for (const inv of ctx.store.inviteesOf(ev)) cancelInvitee(ctx, inv, how);
    }
    created.push(ev);
  }
  return created;
}
