// Calendly JSON shapes (User, Organization, EventType, Event, Invitee, WebhookSubscription) built
// from store records. Pure functions of the store: rendering never changes state, so a webhook
// payload rendered at dispatch time is a faithful snapshot of that moment.

import type {
  Cancellation,
  EventType,
  Invitee,
  Organization,
  ScheduledEvent,
  Store,
  Subscription,
  User,
} from "./store.ts";
import { toIso } from "./util.ts";

type Json = Record<string, unknown>;

export function renderUser(store: Store, u: User): Json {
  return {
    uri: u.uri,
    name: u.name,
    slug: u.slug,
    email: u.email,
    scheduling_url: `${store.baseUrl}/${u.slug}`,
    timezone: u.timezone,
    time_notation: "24h",
    avatar_url: null,
    locale: "en",
    created_at: toIso(u.createdMs),
    updated_at: toIso(u.updatedMs),
    current_organization: store.orgs.get(u.orgUuid)!.uri,
    resource_type: "User",
  };
}

export function renderOrg(o: Organization): Json {
  return {
    uri: o.uri,
    name: o.name,
    plan: o.plan,
    stage: "paid",
    created_at: toIso(o.createdMs),
    updated_at: toIso(o.updatedMs),
  };
}

export function renderEventType(store: Store, et: EventType): Json {
  const owner = store.users.get(et.ownerUuid)!;
  return {
    uri: et.uri,
    name: et.name,
    active: true,
    slug: et.slug,
    scheduling_url: `${store.baseUrl}/${owner.slug}/${et.slug}`,
    duration: et.durationMinutes,
    kind: et.limit > 1 ? "group" : "solo",
    pooling_type: null,
    type: "StandardEventType",
    color: "#0069ff",
    created_at: toIso(et.createdMs),
    updated_at: toIso(et.createdMs),
    internal_note: null,
    description_plain: null,
    description_html: null,
    profile: { type: "User", name: owner.name, owner: owner.uri },
    secret: false,
    booking_method: "instant",
    custom_questions: [],
    deleted_at: null,
    admin_managed: false,
  };
}

function renderCancellation(c: Cancellation): Json {
  return {
    canceled_by: c.canceledBy,
    reason: c.reason,
    canceler_type: c.cancelerType,
    created_at: toIso(c.createdMs),
  };
}

export function renderEvent(store: Store, ev: ScheduledEvent): Json {
  const host = store.users.get(ev.hostUuid)!;
  const invitees = store.inviteesOf(ev);
  const out: Json = {
    uri: ev.uri,
    name: ev.name,
    meeting_notes_plain: null,
    meeting_notes_html: null,
    status: ev.status,
    start_time: toIso(ev.startMs),
    end_time: toIso(ev.endMs),
    event_type: store.eventTypes.get(ev.eventTypeUuid)!.uri,
    location: ev.location,
    invitees_counter: {
      total: invitees.length,
      active: invitees.filter((i) => i.status === "active").length,
      limit: ev.limit,
    },
    created_at: toIso(ev.createdMs),
    updated_at: toIso(ev.updatedMs),
    event_memberships: [{
      user: host.uri,
      user_email: host.email,
      user_name: host.name,
      buffered_start_time: toIso(ev.startMs),
      buffered_end_time: toIso(ev.endMs),
    }],
    event_guests: [],
    calendar_event: null,
  };
  if (ev.cancellation) out.cancellation = renderCancellation(ev.cancellation);
  return out;
}

export function renderInvitee(store: Store, inv: Invitee): Json {
  const ev = store.events.get(inv.eventUuid)!;
  const out: Json = {
    uri: inv.uri,
    email: inv.email,
    first_name: inv.firstName,
    last_name: inv.lastName,
    name: inv.name,
    status: inv.status,
    questions_and_answers: inv.questionsAndAnswers,
    timezone: inv.timezone,
    event: ev.uri,
    created_at: toIso(inv.createdMs),
    updated_at: toIso(inv.updatedMs),
    tracking: {
      utm_campaign: null,
      utm_source: null,
      utm_medium: null,
      utm_content: null,
      utm_term: null,
      salesforce_uuid: null,
    },
    text_reminder_number: null,
    rescheduled: inv.rescheduled,
    old_invitee: inv.oldInvitee,
    new_invitee: inv.newInvitee,
    cancel_url: `${store.baseUrl}/cancellations/${inv.uuid}`,
    reschedule_url: `${store.baseUrl}/reschedulings/${inv.uuid}`,
    routing_form_submission: null,
    payment: null,
    no_show: null,
    reconfirmation: null,
    scheduling_method: null,
    invitee_scheduled_by: null,
  };
  if (inv.cancellation) out.cancellation = renderCancellation(inv.cancellation);
  return out;
}

export function renderSubscription(s: Subscription): Json {
  return {
    uri: s.uri,
    callback_url: s.callbackUrl,
    created_at: toIso(s.createdMs),
    updated_at: toIso(s.updatedMs),
    retry_started_at: s.retryStartedMs === null ? null : toIso(s.retryStartedMs),
    state: s.state,
    events: [...s.events],
    scope: s.scope,
    organization: s.orgUri,
    user: s.userUri,
    group: s.groupUri,
    creator: s.creatorUri,
  };
}

/** Webhook `payload` for invitee.* events: the Invitee plus the embedded scheduled event. */
export function renderInviteePayload(store: Store, inv: Invitee): Json {
  return {
    ...renderInvitee(store, inv),
    scheduled_event: renderEvent(store, store.events.get(inv.eventUuid)!),
  };
}
