// In-memory state: config, accounts, OAuth tokens, calendars with their events and change
// sequence. Everything is reset together by the control API.
//
// Invariants: a calendar id is never reused within one store (deleted secondary calendars are
// remembered in `deletedCalendars`); an event id, once inserted, stays in its calendar's map for
// good (deleting only marks it cancelled), which is what keeps a deleted id "taken".

import type { EventTime } from "./time.ts";
import type { Occurrence } from "./recurrence.ts";
import { randomToken } from "./util.ts";

export interface PagingKnobs {
  /** Pages never hold more than this many items (short pages), regardless of maxResults. */
  pageSizeCap: number | null;
  /** Every list sequence (full or incremental) starts with this many empty pages. */
  emptyPagesFirst: number;
  /** The last items are followed by one extra empty page carrying nextSyncToken. */
  trailingEmptyPage: boolean;
}

export interface EmulatorConfig {
  clientId: string;
  clientSecret: string;
  /** expires_in of issued access tokens. */
  accessTokenTtlSeconds: number;
  /** Upper bound for channel lifetimes (Google: "the more restrictive value is used"). */
  maxChannelTtlSeconds: number;
  /** Which http:// webhook addresses are accepted: loopback only (default), any, or none. */
  httpWebhooks: "loopback" | "any" | "never";
  /** Send the sync message before (default, Google's documented race) or after the response. */
  syncMessageTiming: "before" | "after";
  /** Retry base delay and total attempts for 500/502/503/504 answers from receivers. */
  retryBaseMs: number;
  retryAttempts: number;
  /** Per-attempt timeout for push deliveries. */
  deliveryTimeoutMs: number;
  /** Message numbers after the sync message grow by a random step in [min, max]. */
  messageNumberStepMin: number;
  messageNumberStepMax: number;
  /** Seed for the PRNG used by message-number steps and drop ratios. */
  seed: number;
  /** Recurring series are expanded at most this many days past the first instance. */
  recurrenceCapDays: number;
  /** Scope reported by the token endpoint. */
  defaultScope: string;
  /**
   * Google's "operational limit" for rapid writes to one calendar: more than this many event
   * writes to a single calendar within one second (emulator clock) → 403 rateLimitExceeded.
   * 0 (default) = off.
   */
  writesPerCalendarPerSecond: number;
  paging: PagingKnobs;
}

export function defaultConfig(): EmulatorConfig {
  return {
    clientId: "emulator-client-id",
    clientSecret: "emulator-client-secret",
    accessTokenTtlSeconds: 3599,
    maxChannelTtlSeconds: 604800,
    httpWebhooks: "loopback",
    syncMessageTiming: "before",
    retryBaseMs: 50,
    retryAttempts: 4,
    deliveryTimeoutMs: 5000,
    messageNumberStepMin: 2,
    messageNumberStepMax: 6,
    seed: 42,
    recurrenceCapDays: 730,
    defaultScope: "https://www.googleapis.com/auth/calendar",
    writesPerCalendarPerSecond: 0,
    paging: { pageSizeCap: null, emptyPagesFirst: 0, trailingEmptyPage: false },
  };
}

export interface Person {
  email: string;
  displayName?: string;
  self?: boolean;
}

export interface Attendee extends Person {
  responseStatus?: string;
  [k: string]: unknown;
}

/** Event resource as stored and returned (calendar#event). */
export interface EventResource {
  kind: "calendar#event";
  etag: string;
  id: string;
  status: string;
  htmlLink: string;
  created: string;
  updated: string;
  summary?: string;
  description?: string;
  creator: Person;
  organizer: Person;
  start: EventTime;
  end: EventTime;
  recurrence?: string[];
  recurringEventId?: string;
  originalStartTime?: EventTime;
  transparency?: string;
  iCalUID: string;
  sequence: number;
  attendees?: Attendee[];
  extendedProperties?: { private?: Record<string, string>; shared?: Record<string, string> };
  eventType: string;
  [k: string]: unknown;
}

export interface StoredEvent {
  resource: EventResource;
  /** Insertion ordinal: the stable default order, and part of page cursors. */
  ord: number;
  /** Calendar change sequence of the last modification (what sync tokens compare against). */
  changeSeq: number;
  startMs: number;
  endMs: number;
  allDay: boolean;
  updatedMs: number;
  /** Cached expansion for recurring masters (cleared when the master changes). */
  occurrences?: Occurrence[];
  occurrenceIndex?: Map<string, Occurrence>;
}

export interface Calendar {
  id: string;
  summary: string;
  description?: string;
  timeZone: string;
  owner: string;
  /** Etag of the calendar resource (metadata); not changed by event writes. */
  etag: string;
  /** Stable id reported as resourceId by events.watch for this calendar. */
  resourceId: string;
  /** Change sequence: bumped by every mutation; sync tokens carry a value of it. */
  seq: number;
  /** Bumped by "invalidate sync tokens": tokens carrying an older epoch get 410. */
  epoch: number;
  updatedMs: number;
  nextOrd: number;
  events: Map<string, StoredEvent>;
  /** masterId -> ids of its exceptions (modified or cancelled instances). */
  exceptions: Map<string, Set<string>>;
  /** Row lists per query for the current seq (pages 2..n reuse them). */
  listCache: Map<string, unknown>;
  /** Emulator-clock times of accepted event writes in the last second (write pacing). */
  recentWrites: number[];
  /** Writes refused by the write-pacing limit. */
  writesRejected: number;
}

export interface DeletedCalendar {
  id: string;
  owner: string;
  summary: string;
  deletedMs: number;
}

export interface Account {
  email: string;
  calendarIds: string[];
}

export interface RefreshToken {
  token: string;
  email: string;
  scope: string;
  revoked: boolean;
  /** Emulator-clock time of the revocation and how it happened. */
  revokedMs?: number;
  revokedVia?: "revoke_endpoint" | "control";
}

export interface AccessToken {
  token: string;
  email: string;
  refreshToken: string;
  scope: string;
  expiresAtMs: number;
}

export interface AuthCode {
  code: string;
  refreshToken: string;
  redirectUri: string;
  used: boolean;
}

export class Store {
  /** Changes on every reset so tokens minted before a reset are rejected afterwards. */
  nonce = randomToken(8);
  accounts = new Map<string, Account>();
  refreshTokens = new Map<string, RefreshToken>();
  accessTokens = new Map<string, AccessToken>();
  authCodes = new Map<string, AuthCode>();
  calendars = new Map<string, Calendar>();
  deletedCalendars = new Map<string, DeletedCalendar>();
  #etagCounter = 0;

  newEtag(nowMs: number): string {
    this.#etagCounter = (this.#etagCounter + 1) % 1000;
    return `"${nowMs}${String(this.#etagCounter).padStart(3, "0")}"`;
  }

  createCalendar(
    id: string,
    owner: string,
    summary: string,
    timeZone: string,
    nowMs: number,
  ): Calendar {
    const cal: Calendar = {
      id,
      summary,
      timeZone,
      owner,
      etag: this.newEtag(nowMs),
      resourceId: randomToken(27),
      seq: 0,
      epoch: 0,
      updatedMs: nowMs,
      nextOrd: 1,
      events: new Map(),
      exceptions: new Map(),
      listCache: new Map(),
      recentWrites: [],
      writesRejected: 0,
    };
    this.calendars.set(id, cal);
    this.accounts.get(owner)?.calendarIds.push(id);
    return cal;
  }

  /** Remove a calendar with its events; its id stays remembered (and unusable). */
  deleteCalendar(cal: Calendar, nowMs: number): void {
    this.calendars.delete(cal.id);
    this.deletedCalendars.set(cal.id, {
      id: cal.id,
      owner: cal.owner,
      summary: cal.summary,
      deletedMs: nowMs,
    });
    const account = this.accounts.get(cal.owner);
    if (account) account.calendarIds = account.calendarIds.filter((c) => c !== cal.id);
  }

  /** A calendar id that exists now or existed before (ids are never reused). */
  calendarIdTaken(id: string): boolean {
    return this.calendars.has(id) || this.deletedCalendars.has(id);
  }

  /** Resolve "primary" and check that the account may use the calendar. */
  calendarFor(email: string, calendarId: string): Calendar | undefined {
    const id = calendarId === "primary" ? email : calendarId;
    const cal = this.calendars.get(id);
    return cal && cal.owner === email ? cal : undefined;
  }
}
