// In-memory state: organizations, users, event types, OAuth grants, scheduled events with their
// invitees, and webhook subscriptions. Records hold emulator-clock milliseconds and uuids; the
// Calendly JSON shapes are produced by resources.ts. Invariants: every record's `uri` is built on
// the emulator's own base URL; an invitee always belongs to exactly one scheduled event (its
// `eventUuid`), and that event lists it in `inviteeUuids` in creation order.

import { lastSegment, randomToken, uuid } from "./util.ts";

export type Role = "owner" | "admin" | "user";
export type Status = "active" | "canceled";

export interface Organization {
  uuid: string;
  uri: string;
  name: string;
  /** Calendly plan; webhooks need a paid plan (not basic/free). */
  plan: string;
  createdMs: number;
  updatedMs: number;
}

export interface User {
  uuid: string;
  uri: string;
  email: string;
  name: string;
  slug: string;
  timezone: string;
  orgUuid: string;
  role: Role;
  createdMs: number;
  updatedMs: number;
}

export interface EventType {
  uuid: string;
  uri: string;
  ownerUuid: string;
  name: string;
  slug: string;
  durationMinutes: number;
  limit: number;
  createdMs: number;
}

export interface RefreshToken {
  token: string;
  userUuid: string;
  issuedMs: number;
  /** `used` = spent by a successful refresh (rotation); `revoked` = /oauth/revoke or control. */
  state: "active" | "used" | "revoked";
  endedMs?: number;
}

export interface AccessToken {
  token: string;
  userUuid: string;
  /** The refresh token issued in the same response. */
  refreshToken: string;
  expiresAtMs: number;
  revoked: boolean;
}

export interface AuthCode {
  code: string;
  userUuid: string;
  redirectUri: string;
  expiresAtMs: number;
  used: boolean;
}

export interface Cancellation {
  canceledBy: string;
  reason: string | null;
  cancelerType: "host" | "invitee";
  createdMs: number;
}

export interface ScheduledEvent {
  uuid: string;
  uri: string;
  hostUuid: string;
  orgUuid: string;
  eventTypeUuid: string;
  name: string;
  startMs: number;
  endMs: number;
  status: Status;
  location: Record<string, unknown>;
  /** invitees_counter.limit (max active invitees; > 1 for group events). */
  limit: number;
  inviteeUuids: string[];
  cancellation?: Cancellation;
  createdMs: number;
  updatedMs: number;
}

export interface Invitee {
  uuid: string;
  uri: string;
  eventUuid: string;
  email: string;
  name: string;
  firstName: string | null;
  lastName: string | null;
  timezone: string;
  status: Status;
  rescheduled: boolean;
  oldInvitee: string | null;
  newInvitee: string | null;
  questionsAndAnswers: unknown[];
  cancellation?: Cancellation;
  createdMs: number;
  updatedMs: number;
}

export interface Subscription {
  uuid: string;
  uri: string;
  callbackUrl: string;
  events: string[];
  scope: "organization" | "user" | "group";
  orgUri: string;
  userUri: string | null;
  groupUri: string | null;
  creatorUri: string;
  /** The key given at creation; undefined = the app-wide key (config.appSigningKey). */
  signingKey?: string;
  state: "active" | "disabled";
  retryStartedMs: number | null;
  /** Deliveries that exhausted their retries since the last success. */
  consecutiveFailures: number;
  createdMs: number;
  updatedMs: number;
}

export class Store {
  orgs = new Map<string, Organization>();
  users = new Map<string, User>();
  eventTypes = new Map<string, EventType>();
  refreshTokens = new Map<string, RefreshToken>();
  accessTokens = new Map<string, AccessToken>();
  authCodes = new Map<string, AuthCode>();
  events = new Map<string, ScheduledEvent>();
  invitees = new Map<string, Invitee>();
  subscriptions = new Map<string, Subscription>();

  constructor(readonly baseUrl: string) {}

  uri(path: string): string {
    return `${this.baseUrl}/${path}`;
  }

  createOrg(name: string, plan: string, nowMs: number): Organization {
    const id = uuid();
    const org: Organization = {
      uuid: id,
      uri: this.uri(`organizations/${id}`),
      name,
      plan,
      createdMs: nowMs,
      updatedMs: nowMs,
    };
    this.orgs.set(id, org);
    return org;
  }

  createUser(
    fields: { email: string; name: string; timezone: string; orgUuid: string; role: Role },
    nowMs: number,
  ): User {
    const id = uuid();
    const base = fields.email.split("@")[0].toLowerCase().replace(/[^a-z0-9]+/g, "-") || "user";
    let slug = base;
    for (let n = 2; [...this.users.values()].some((u) => u.slug === slug); n++) {
      slug = `${base}-${n}`;
    }
    const user: User = {
      ...fields,
      uuid: id,
      uri: this.uri(`users/${id}`),
      slug,
      createdMs: nowMs,
      updatedMs: nowMs,
    };
    this.users.set(id, user);
    return user;
  }

  userByEmail(email: string): User | undefined {
    const wanted = email.toLowerCase();
    return [...this.users.values()].find((u) => u.email.toLowerCase() === wanted);
  }

  /** A user given as a URI, a uuid or an email address. */
  findUser(ref: unknown): User | undefined {
    if (typeof ref !== "string" || ref === "") return undefined;
    if (ref.includes("@") && !ref.includes("/")) return this.userByEmail(ref);
    return this.users.get(lastSegment(ref));
  }

  findOrg(ref: unknown): Organization | undefined {
    return typeof ref === "string" && ref !== "" ? this.orgs.get(lastSegment(ref)) : undefined;
  }

  findEvent(ref: unknown): ScheduledEvent | undefined {
    return typeof ref === "string" && ref !== "" ? this.events.get(lastSegment(ref)) : undefined;
  }

  findInvitee(ref: unknown): Invitee | undefined {
    return typeof ref === "string" && ref !== "" ? this.invitees.get(lastSegment(ref)) : undefined;
  }

  /** The host's event type for this name/duration/limit, created on first use. */
  eventTypeFor(host: User, name: string, durationMinutes: number, limit: number, nowMs: number) {
    for (const et of this.eventTypes.values()) {
      if (
        et.ownerUuid === host.uuid && et.name === name && et.durationMinutes === durationMinutes &&
        et.limit === limit
      ) return et;
    }
    const id = uuid();
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "") || "meeting";
    const et: EventType = {
      uuid: id,
      uri: this.uri(`event_types/${id}`),
      ownerUuid: host.uuid,
      name,
      slug,
      durationMinutes,
      limit,
      createdMs: nowMs,
    };
    this.eventTypes.set(id, et);
    return et;
  }

  issueRefreshToken(userUuid: string, nowMs: number): RefreshToken {
    const rt: RefreshToken = {
      token: `emu-rt-${randomToken()}`,
      userUuid,
      issuedMs: nowMs,
      state: "active",
    };
    this.refreshTokens.set(rt.token, rt);
    return rt;
  }

  inviteesOf(ev: ScheduledEvent): Invitee[] {
    return ev.inviteeUuids.map((id) => this.invitees.get(id)!);
  }
}
