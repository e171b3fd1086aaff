// Calendar v3 events: insert/get/patch/update/delete and events.list with full and
// incremental (syncToken) sync, paging, recurring-event expansion and exceptions.
//
// Sync model: each calendar has a change sequence `seq`; every mutation bumps it and stamps the
// touched events with it. A sync token carries the seq at which its list started; an incremental
// list returns every entry stamped later. Page tokens carry that snapshot seq plus a cursor on a
// stable sort key, so changes made while paging are never missed: unchanged events keep their
// position, changed ones show up (again) in the next incremental list.
//
// Writes: every write gives the event a new etag. `If-Match` on patch/update/delete must equal
// the current etag (or be `*`) or the write is refused with 412 conditionNotMet and nothing
// changes; `If-None-Match` on get answers 304 when it still matches. Event ids stay taken for
// good: deleting only marks the event cancelled, so re-inserting its id is 409 duplicate.

import type { Ctx } from "./context.ts";
import {
  conditionNotMet,
  fullSyncRequired,
  googleError,
  invalidParam,
  notFound,
} from "./errors.ts";
import { expandSeries, type Occurrence, parseRecurrence } from "./recurrence.ts";
import type { Attendee, Calendar, EventResource, StoredEvent } from "./store.ts";
import {
  DAY_MS,
  type EventTime,
  isValidTimeZone,
  parseEventTime,
  parseRfc3339,
  toIso,
} from "./time.ts";
import {
  decodeOpaque,
  empty,
  encodeOpaque,
  isRecord,
  isValidEventId,
  json,
  newEventId,
} from "./util.ts";

/** Fields a client may write (others in a request body are ignored, as read-only ones are). */
const WRITABLE = [
  "summary",
  "description",
  "location",
  "start",
  "end",
  "status",
  "transparency",
  "visibility",
  "attendees",
  "recurrence",
  "extendedProperties",
  "colorId",
  "reminders",
  "sequence",
  "endTimeUnspecified",
  "guestsCanInviteOthers",
  "guestsCanModify",
  "guestsCanSeeOtherGuests",
  "anyoneCanAddSelf",
  "source",
  "focusTimeProperties",
  "outOfOfficeProperties",
  "workingLocationProperties",
  "conferenceData",
];
const EVENT_TYPES = new Set([
  "default",
  "birthday",
  "focusTime",
  "fromGmail",
  "outOfOffice",
  "workingLocation",
]);
const STATUSES = new Set(["confirmed", "tentative", "cancelled"]);
const MAX_RESULTS = 2500;
const DEFAULT_MAX_RESULTS = 250;

type Fields = Record<string, unknown>;

interface Fixed {
  id: string;
  created: string;
  iCalUID: string;
  eventType: string;
  sequence: number;
  recurringEventId?: string;
  originalStartTime?: EventTime;
}

function pickWritable(src: Fields): Fields {
  const out: Fields = {};
  for (const k of WRITABLE) if (src[k] !== undefined && src[k] !== null) out[k] = src[k];
  return out;
}

/** Patch semantics: fields present in the body replace, null clears, absent ones stay. */
function mergeWritable(base: Fields, patch: Fields): Fields {
  const out = pickWritable(base);
  for (const k of WRITABLE) {
    if (!(k in patch)) continue;
    if (patch[k] === null) delete out[k];
    else if (patch[k] !== undefined) out[k] = patch[k];
  }
  return out;
}

function bad(message: string, reason = "invalid"): Response {
  return googleError(400, reason, { message });
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== "string") return undefined;
    out[k] = val;
  }
  return out;
}

/** Validate fields and build the stored form of an event (not yet inserted or committed). */
function compose(
  ctx: Ctx,
  cal: Calendar,
  fields: Fields,
  fixed: Fixed,
  ord: number,
): StoredEvent | Response {
  const now = ctx.clock.now();
  const { start, end } = fields;
  if (!isRecord(start)) return bad("Missing start time.", "required");
  if (!isRecord(end)) return bad("Missing end time.", "required");
  const s = parseEventTime(start as EventTime, cal.timeZone, "start");
  if ("error" in s) return bad(s.error);
  const e = parseEventTime(end as EventTime, cal.timeZone, "end");
  if ("error" in e) return bad(e.error);
  if (s.allDay !== e.allDay) {
    return bad("Start and end times must either both be date or both be dateTime.");
  }
  if (e.ms <= s.ms) return googleError(400, "timeRangeEmpty", { location: "end" });
  const status = fields.status ?? "confirmed";
  if (typeof status !== "string" || !STATUSES.has(status)) return bad("Invalid value for: status");
  if (
    fields.transparency !== undefined && fields.transparency !== "opaque" &&
    fields.transparency !== "transparent"
  ) return bad("Invalid value for: transparency");
  if (!EVENT_TYPES.has(fixed.eventType)) return bad("Invalid event type.");
  for (const k of ["summary", "description", "location"]) {
    if (fields[k] !== undefined && typeof fields[k] !== "string") return bad(`Invalid value: ${k}`);
  }
  if (fields.recurrence !== undefined) {
    const rec = fields.recurrence;
    if (!Array.isArray(rec) || rec.some((l) => typeof l !== "string")) {
      return bad("Invalid recurrence rule.");
    }
    if (fixed.recurringEventId) return bad("Instances cannot have a recurrence.");
    if (!s.allDay && !(start as EventTime).timeZone) {
      return bad("Missing time zone definition for start time.");
    }
    const rule = parseRecurrence(rec as string[], (start as EventTime).timeZone ?? cal.timeZone);
    if ("error" in rule) return bad(rule.error);
  }
  let attendees: Attendee[] | undefined;
  if (fields.attendees !== undefined) {
    if (!Array.isArray(fields.attendees)) return bad("Invalid attendees.");
    attendees = [];
    for (const a of fields.attendees) {
      if (!isRecord(a) || typeof a.email !== "string") return bad("Invalid attendee email.");
      const copy: Attendee = { ...a, email: a.email };
      copy.responseStatus = typeof a.responseStatus === "string" ? a.responseStatus : "needsAction";
      if (a.email.toLowerCase() === cal.id.toLowerCase()) copy.self = true;
      attendees.push(copy);
    }
  }
  let extendedProperties: EventResource["extendedProperties"];
  if (fields.extendedProperties !== undefined) {
    const ep = fields.extendedProperties;
    if (!isRecord(ep)) return bad("Invalid extendedProperties.");
    extendedProperties = {};
    for (const kind of ["private", "shared"] as const) {
      if (ep[kind] === undefined) continue;
      const m = stringMap(ep[kind]);
      if (!m) return bad(`Invalid extendedProperties.${kind}.`);
      extendedProperties[kind] = m;
    }
  }
  const resource: EventResource = {
    ...fields,
    kind: "calendar#event",
    etag: ctx.store.newEtag(now),
    id: fixed.id,
    status,
    htmlLink: `https://www.google.com/calendar/event?eid=${
      btoa(`${fixed.id} ${cal.id}`).replace(/=+$/, "")
    }`,
    created: fixed.created,
    updated: toIso(now),
    creator: { email: cal.owner, self: true },
    organizer: cal.id === cal.owner
      ? { email: cal.owner, self: true }
      : { email: cal.id, displayName: cal.summary, self: true },
    start: start as EventTime,
    end: end as EventTime,
    iCalUID: fixed.iCalUID,
    sequence: typeof fields.sequence === "number" ? fields.sequence : fixed.sequence,
    eventType: fixed.eventType,
  };
  if (attendees) resource.attendees = attendees;
  if (extendedProperties) resource.extendedProperties = extendedProperties;
  if (fixed.recurringEventId) {
    resource.recurringEventId = fixed.recurringEventId;
    resource.originalStartTime = fixed.originalStartTime;
  }
  return {
    resource,
    ord,
    changeSeq: cal.seq,
    startMs: s.ms,
    endMs: e.ms,
    allDay: s.allDay,
    updatedMs: now,
  };
}

/** Record a mutation: one new seq for all touched events, clear list caches, notify channels. */
export function commit(ctx: Ctx, cal: Calendar, touched: StoredEvent[], notify = true): void {
  cal.seq++;
  for (const ev of touched) {
    ev.changeSeq = cal.seq;
    cal.events.set(ev.resource.id, ev);
    const master = ev.resource.recurringEventId;
    if (master) {
      let set = cal.exceptions.get(master);
      if (!set) cal.exceptions.set(master, set = new Set());
      set.add(ev.resource.id);
    }
  }
  cal.updatedMs = ctx.clock.now();
  cal.listCache.clear();
  if (notify) ctx.push.notifyCalendar(cal.id);
}

// ---- recurring series -----------------------------------------------------------------------

function occurrencesOf(ctx: Ctx, cal: Calendar, master: StoredEvent): Occurrence[] {
  if (!master.occurrences) {
    const r = master.resource;
    const rule = parseRecurrence(r.recurrence ?? [], r.start.timeZone ?? cal.timeZone);
    master.occurrences = "error" in rule ? [] : expandSeries({
      rule,
      allDay: master.allDay,
      startMs: master.startMs,
      endMs: master.endMs,
      start: r.start,
      end: r.end,
      calendarTz: cal.timeZone,
      capMs: ctx.config.recurrenceCapDays * DAY_MS,
    });
    master.occurrenceIndex = new Map(master.occurrences.map((o) => [o.key, o]));
  }
  return master.occurrences;
}

function generatedInstance(master: StoredEvent, o: Occurrence): EventResource {
  const r: EventResource = { ...master.resource };
  delete r.recurrence;
  r.id = `${master.resource.id}_${o.key}`;
  r.recurringEventId = master.resource.id;
  r.originalStartTime = o.start;
  r.start = o.start;
  r.end = o.end;
  return r;
}

/** What a cancelled entry looks like in a list: only the guaranteed fields. */
function minimal(r: EventResource): Record<string, unknown> {
  const m: Record<string, unknown> = {
    kind: r.kind,
    etag: r.etag,
    id: r.id,
    status: "cancelled",
  };
  if (r.recurringEventId) {
    m.recurringEventId = r.recurringEventId;
    m.originalStartTime = r.originalStartTime;
  }
  return m;
}

/** A candidate list entry with what filtering and ordering need. */
interface Cand {
  res: EventResource;
  cancelled: boolean;
  startMs: number;
  endMs: number;
  updatedMs: number;
  changeSeq: number;
  ord: number;
  origMs: number;
}

function candOf(ev: StoredEvent, cancelled = ev.resource.status === "cancelled"): Cand {
  return {
    res: ev.resource,
    cancelled,
    startMs: ev.startMs,
    endMs: ev.endMs,
    updatedMs: ev.updatedMs,
    changeSeq: ev.changeSeq,
    ord: ev.ord,
    origMs: 0,
  };
}

/** Instances of a series with exceptions applied (cancelled ones flagged). */
function seriesInstances(ctx: Ctx, cal: Calendar, master: StoredEvent): Cand[] {
  const occ = occurrencesOf(ctx, cal, master);
  const exIds = cal.exceptions.get(master.resource.id);
  const masterCancelled = master.resource.status === "cancelled";
  const out: Cand[] = [];
  const seen = new Set<string>();
  for (const o of occ) {
    const id = `${master.resource.id}_${o.key}`;
    const ex = exIds?.has(id) ? cal.events.get(id) : undefined;
    if (ex) {
      seen.add(id);
      out.push({
        ...candOf(ex, masterCancelled || ex.resource.status === "cancelled"),
        changeSeq: Math.max(ex.changeSeq, master.changeSeq),
        ord: master.ord,
        origMs: o.startMs,
      });
    } else {
      out.push({
        res: generatedInstance(master, o),
        cancelled: masterCancelled,
        startMs: o.startMs,
        endMs: o.endMs,
        updatedMs: master.updatedMs,
        changeSeq: master.changeSeq,
        ord: master.ord,
        origMs: o.startMs,
      });
    }
  }
  // Exceptions whose original slot is gone (recurrence changed): always cancelled tombstones.
  for (const id of exIds ?? []) {
    const ex = cal.events.get(id);
    if (!ex || seen.has(id)) continue;
    out.push({ ...candOf(ex, true), ord: master.ord, origMs: ex.startMs });
  }
  return out;
}

/** Resolve an event id: stored event, or a generated instance `<master>_<key>`. */
function findEvent(
  ctx: Ctx,
  cal: Calendar,
  id: string,
): { stored: StoredEvent } | { master: StoredEvent; occ: Occurrence } | undefined {
  const stored = cal.events.get(id);
  if (stored) return { stored };
  const i = id.lastIndexOf("_");
  if (i <= 0) return undefined;
  const master = cal.events.get(id.slice(0, i));
  if (!master?.resource.recurrence) return undefined;
  occurrencesOf(ctx, cal, master);
  const occ = master.occurrenceIndex?.get(id.slice(i + 1));
  return occ ? { master, occ } : undefined;
}

// ---- CRUD -------------------------------------------------------------------------------------

/**
 * Does a conditional header (`If-Match` / `If-None-Match`) name this etag? `*` matches any
 * existing event; otherwise a comma-separated list of entity tags compared byte-for-byte (quotes
 * included; a weak `W/` prefix is ignored).
 */
export function etagListMatches(header: string, etag: string): boolean {
  if (header.trim() === "*") return true;
  return header.split(",").some((t) => t.trim().replace(/^W\//, "") === etag);
}

/**
 * Event JSON with the ETag header Google's API also sends. `no-transform` keeps Deno from
 * compressing the body, which would weaken the header to W/"…".
 */
function eventJson(r: EventResource): Response {
  return json(r, 200, { etag: r.etag, "cache-control": EVENT_CACHE_CONTROL });
}

const EVENT_CACHE_CONTROL = "private, max-age=0, must-revalidate, no-transform";

/**
 * Write pacing (config `writesPerCalendarPerSecond`): Google's "operational limit" for rapid
 * writes to one calendar. Counts accepted writes per calendar in a sliding one-second window of
 * the emulator clock; refused writes do not count, so a client that backs off gets through.
 */
export function checkWritePace(ctx: Ctx, cal: Calendar): Response | undefined {
  const limit = ctx.config.writesPerCalendarPerSecond;
  if (!(limit > 0)) return undefined;
  const now = ctx.clock.now();
  cal.recentWrites = cal.recentWrites.filter((t) => t > now - 1000 && t <= now);
  if (cal.recentWrites.length >= limit) {
    cal.writesRejected++;
    return googleError(403, "rateLimitExceeded");
  }
  cal.recentWrites.push(now);
  return undefined;
}

/** Validate and build a new event (no commit): shared by events.insert and bulk seeding. */
export function prepareInsert(ctx: Ctx, cal: Calendar, body: unknown): StoredEvent | Response {
  if (!isRecord(body)) return bad("Invalid event body.", "required");
  let id: string;
  if (body.id !== undefined) {
    if (typeof body.id !== "string" || !isValidEventId(body.id)) {
      return bad("Invalid resource id value.");
    }
    if (cal.events.has(body.id)) return googleError(409, "duplicate");
    id = body.id;
  } else {
    id = newEventId();
  }
  const eventType = body.eventType ?? "default";
  if (typeof eventType !== "string") return bad("Invalid event type.");
  return compose(ctx, cal, pickWritable(body), {
    id,
    created: toIso(ctx.clock.now()),
    iCalUID: typeof body.iCalUID === "string" ? body.iCalUID : `${id}@google.com`,
    eventType,
    sequence: 0,
  }, cal.nextOrd++);
}

export function insertEvent(ctx: Ctx, cal: Calendar, body: unknown): Response {
  const ev = prepareInsert(ctx, cal, body);
  if (ev instanceof Response) return ev;
  commit(ctx, cal, [ev]);
  return eventJson(ev.resource);
}

/** events.get; `If-None-Match` naming the current etag → 304 without a body. */
export function getEvent(
  ctx: Ctx,
  cal: Calendar,
  id: string,
  ifNoneMatch: string | null = null,
): Response {
  const found = findEvent(ctx, cal, id);
  if (!found) return notFound();
  const r = "stored" in found ? found.stored.resource : generatedInstance(found.master, found.occ);
  if (ifNoneMatch !== null && etagListMatches(ifNoneMatch, r.etag)) {
    return new Response(null, {
      status: 304,
      headers: { etag: r.etag, "cache-control": EVENT_CACHE_CONTROL },
    });
  }
  return eventJson(r);
}

const TIMING_FIELDS = ["start", "end", "recurrence"];

/** events.patch (mode "patch") and events.update (mode "update"). */
export function modifyEvent(
  ctx: Ctx,
  cal: Calendar,
  id: string,
  body: unknown,
  mode: "patch" | "update",
  ifMatch: string | null = null,
): Response {
  if (!isRecord(body)) return bad("Invalid event body.", "required");
  const found = findEvent(ctx, cal, id);
  if (!found) return notFound();
  const base = "stored" in found
    ? found.stored.resource
    : generatedInstance(found.master, found.occ);
  if (ifMatch !== null && !etagListMatches(ifMatch, base.etag)) return conditionNotMet();
  if (body.eventType !== undefined && body.eventType !== base.eventType) {
    return bad("Event type cannot be changed.");
  }
  const fields = mode === "patch" ? mergeWritable(base, body) : pickWritable(body);
  if (base.recurringEventId) delete fields.recurrence;
  const timingChanged = TIMING_FIELDS.some((k) =>
    JSON.stringify(fields[k]) !== JSON.stringify(base[k])
  );
  const fixed: Fixed = {
    id: base.id,
    created: base.created,
    iCalUID: base.iCalUID,
    eventType: base.eventType,
    sequence: base.sequence + (timingChanged && body.sequence === undefined ? 1 : 0),
    recurringEventId: base.recurringEventId,
    originalStartTime: base.originalStartTime,
  };
  const ord = "stored" in found ? found.stored.ord : cal.nextOrd++;
  const next = compose(ctx, cal, fields, fixed, ord);
  if (next instanceof Response) return next;
  const touched = [next];
  if ("stored" in found && found.stored.resource.recurrence && timingChanged) {
    touched.push(...orphanedExceptions(ctx, cal, found.stored, next));
  }
  commit(ctx, cal, touched);
  return eventJson(next.resource);
}

/**
 * When a series' timing changes, instances that no longer exist must reach incremental
 * clients as cancelled: cancel their exceptions or create cancelled tombstones for them.
 */
function orphanedExceptions(
  ctx: Ctx,
  cal: Calendar,
  before: StoredEvent,
  after: StoredEvent,
): StoredEvent[] {
  const oldOcc = occurrencesOf(ctx, cal, before);
  const newKeys = new Set(occurrencesOf(ctx, cal, after).map((o) => o.key));
  const out: StoredEvent[] = [];
  for (const o of oldOcc) {
    if (newKeys.has(o.key)) continue;
    const id = `${before.resource.id}_${o.key}`;
    const ex = cal.events.get(id);
    if (ex?.resource.status === "cancelled") continue;
    out.push(cancelled(ctx, ex ?? stubFor(cal, before, o)));
  }
  return out;
}

function stubFor(cal: Calendar, master: StoredEvent, o: Occurrence): StoredEvent {
  return {
    resource: generatedInstance(master, o),
    ord: cal.nextOrd++,
    changeSeq: cal.seq,
    startMs: o.startMs,
    endMs: o.endMs,
    allDay: master.allDay,
    updatedMs: master.updatedMs,
  };
}

function cancelled(ctx: Ctx, ev: StoredEvent): StoredEvent {
  const now = ctx.clock.now();
  return {
    ...ev,
    resource: {
      ...ev.resource,
      status: "cancelled",
      etag: ctx.store.newEtag(now),
      updated: toIso(now),
    },
    updatedMs: now,
  };
}

export function deleteEvent(
  ctx: Ctx,
  cal: Calendar,
  id: string,
  ifMatch: string | null = null,
): Response {
  const found = findEvent(ctx, cal, id);
  if (!found) return notFound();
  const current = "stored" in found ? found.stored.resource : found.master.resource;
  if (current.status === "cancelled" && "stored" in found) return googleError(410, "deleted");
  if (ifMatch !== null && !etagListMatches(ifMatch, current.etag)) return conditionNotMet();
  if ("stored" in found) {
    const ev = found.stored;
    const touched = [cancelled(ctx, ev)];
    // Deleting a series cancels its exceptions too.
    for (const exId of ev.resource.recurrence ? cal.exceptions.get(id) ?? [] : []) {
      const ex = cal.events.get(exId);
      if (ex && ex.resource.status !== "cancelled") touched.push(cancelled(ctx, ex));
    }
    commit(ctx, cal, touched);
  } else {
    // Deleting one instance creates a cancelled exception.
    commit(ctx, cal, [cancelled(ctx, stubFor(cal, found.master, found.occ))]);
  }
  return empty(204);
}

// ---- events.list ------------------------------------------------------------------------------

export interface ListQuery {
  singleEvents: boolean;
  showDeleted: boolean;
  /** Cancelled entries included (showDeleted, updatedMin or incremental). */
  includeDeleted: boolean;
  sinceSeq?: number;
  timeMin?: number;
  timeMax?: number;
  updatedMin?: number;
  orderBy?: "startTime" | "updated";
  q?: string[];
  iCalUID?: string;
  privateProps: [string, string][];
  sharedProps: [string, string][];
  eventTypes?: string[];
}

type Key = [number, number, number];
interface Row {
  key: Key;
  item: unknown;
}

const FORBIDDEN_WITH_SYNC = [
  "iCalUID",
  "orderBy",
  "privateExtendedProperty",
  "q",
  "sharedExtendedProperty",
  "timeMin",
  "timeMax",
  "updatedMin",
];

function parseBool(v: string | null, name: string): boolean | undefined | Response {
  if (v === null) return undefined;
  if (v === "true") return true;
  if (v === "false") return false;
  return invalidParam(name);
}

function parseProps(values: string[], name: string): [string, string][] | Response {
  const out: [string, string][] = [];
  for (const v of values) {
    const i = v.indexOf("=");
    if (i <= 0) return invalidParam(name);
    out.push([v.slice(0, i), v.slice(i + 1)]);
  }
  return out;
}

/** Parse and validate events.list parameters (except paging and syncToken). */
export function parseListQuery(sp: URLSearchParams): ListQuery | Response {
  const syncToken = sp.get("syncToken");
  if (syncToken !== null) {
    for (const p of FORBIDDEN_WITH_SYNC) {
      if (sp.has(p)) return invalidParam(p, `The parameter ${p} cannot be used with syncToken.`);
    }
  }
  const singleEvents = parseBool(sp.get("singleEvents"), "singleEvents");
  if (singleEvents instanceof Response) return singleEvents;
  const showDeleted = parseBool(sp.get("showDeleted"), "showDeleted");
  if (showDeleted instanceof Response) return showDeleted;
  if (syncToken !== null && showDeleted === false) {
    return invalidParam("showDeleted", "showDeleted=false cannot be used with syncToken.");
  }
  const q: ListQuery = {
    singleEvents: singleEvents ?? false,
    showDeleted: showDeleted ?? false,
    includeDeleted: (showDeleted ?? false) || syncToken !== null || sp.has("updatedMin"),
    privateProps: [],
    sharedProps: [],
  };
  for (const name of ["timeMin", "timeMax", "updatedMin"] as const) {
    const v = sp.get(name);
    if (v === null) continue;
    const ms = parseRfc3339(v, true);
    if (ms === undefined) return invalidParam(name, `Bad Request: invalid ${name}`);
    q[name] = ms;
  }
  if (q.timeMin !== undefined && q.timeMax !== undefined && q.timeMax <= q.timeMin) {
    return googleError(400, "timeRangeEmpty", { locationType: "parameter", location: "timeMax" });
  }
  const orderBy = sp.get("orderBy");
  if (orderBy !== null) {
    if (orderBy !== "startTime" && orderBy !== "updated") return invalidParam("orderBy");
    if (orderBy === "startTime" && !q.singleEvents) {
      return invalidParam(
        "orderBy",
        "The requested ordering is not available for the particular query.",
      );
    }
    q.orderBy = orderBy;
  }
  const text = sp.get("q");
  if (text) q.q = text.toLowerCase().split(/\s+/).filter(Boolean);
  const ical = sp.get("iCalUID");
  if (ical) q.iCalUID = ical;
  const priv = parseProps(sp.getAll("privateExtendedProperty"), "privateExtendedProperty");
  if (priv instanceof Response) return priv;
  q.privateProps = priv;
  const shared = parseProps(sp.getAll("sharedExtendedProperty"), "sharedExtendedProperty");
  if (shared instanceof Response) return shared;
  q.sharedProps = shared;
  const types = sp.getAll("eventTypes").flatMap((t) => t.split(",")).filter(Boolean);
  if (types.length) q.eventTypes = types;
  return q;
}

function matchesText(r: EventResource, terms: string[]): boolean {
  const hay = [
    r.summary,
    r.description,
    r.location,
    r.organizer?.email,
    ...(r.attendees ?? []).flatMap((a) => [a.email, a.displayName]),
  ].filter(Boolean).join("\n").toLowerCase();
  return terms.every((t) => hay.includes(t));
}

function passes(q: ListQuery, c: Cand, allowCancelled = false): boolean {
  if (c.cancelled && !q.includeDeleted && !allowCancelled) return false;
  if (q.eventTypes && !q.eventTypes.includes(c.res.eventType)) return false;
  if (q.sinceSeq !== undefined) return true; // incremental: no other filters allowed
  if (q.timeMin !== undefined && !(c.endMs > q.timeMin)) return false;
  if (q.timeMax !== undefined && !(c.startMs < q.timeMax)) return false;
  if (q.updatedMin !== undefined && c.updatedMs < q.updatedMin) return false;
  if (q.iCalUID !== undefined && c.res.iCalUID !== q.iCalUID) return false;
  for (const [k, v] of q.privateProps) {
    if (c.res.extendedProperties?.private?.[k] !== v) return false;
  }
  for (const [k, v] of q.sharedProps) {
    if (c.res.extendedProperties?.shared?.[k] !== v) return false;
  }
  if (q.q && !matchesText(c.res, q.q)) return false;
  return true;
}

function keyOf(q: ListQuery, c: Cand): Key {
  if (q.orderBy === "startTime") return [c.startMs, c.ord, c.origMs];
  if (q.orderBy === "updated") return [c.updatedMs, c.ord, c.origMs];
  return [c.ord, c.origMs, 0];
}

function compareKeys(a: Key, b: Key): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * All matching rows for a query, in list order. Cached per calendar seq. Cancelled entries are
 * minimal (the API's form) unless `fullCancelled` (the control API's truth view).
 */
export function buildRows(ctx: Ctx, cal: Calendar, q: ListQuery, fullCancelled = false): Row[] {
  const cacheKey = `${cal.seq}|${fullCancelled}|${JSON.stringify(q)}`;
  const cached = cal.listCache.get(cacheKey) as Row[] | undefined;
  if (cached) return cached;
  const rows: Row[] = [];
  const since = q.sinceSeq;
  const add = (c: Cand, allowCancelled = false) => {
    if (!passes(q, c, allowCancelled)) return;
    const item = !c.cancelled
      ? c.res
      : fullCancelled
      ? { ...c.res, status: "cancelled" }
      : minimal(c.res);
    rows.push({ key: keyOf(q, c), item });
  };
  // Map iteration follows insertion order, which is `ord` order: no sort needed by default.
  for (const ev of cal.events.values()) {
    const r = ev.resource;
    if (r.recurringEventId) {
      if (q.singleEvents) continue; // folded into its series below
      if (since !== undefined) {
        if (ev.changeSeq > since) add(candOf(ev));
        continue;
      }
      // With singleEvents=false, cancelled instances of a live series are still listed.
      const masterLive = cal.events.get(r.recurringEventId)?.resource.status !== "cancelled";
      add(candOf(ev), masterLive);
      continue;
    }
    if (r.recurrence && q.singleEvents) {
      for (const c of seriesInstances(ctx, cal, ev)) {
        if (since === undefined || c.changeSeq > since) add(c);
      }
      continue;
    }
    if (since !== undefined && ev.changeSeq <= since) continue;
    const c = candOf(ev);
    if (r.recurrence) {
      // A series spans from its first to its last instance (unbounded rules: forever).
      const occ = occurrencesOf(ctx, cal, ev);
      const bounded = /COUNT=|UNTIL=/i.test(r.recurrence.join(";"));
      c.endMs = bounded && occ.length ? occ[occ.length - 1].endMs : Infinity;
    }
    add(c);
  }
  if (q.orderBy) rows.sort((a, b) => compareKeys(a.key, b.key));
  if (cal.listCache.size > 16) cal.listCache.clear();
  cal.listCache.set(cacheKey, rows);
  return rows;
}

interface PageToken {
  k: "page";
  n: string;
  c: string;
  /** Epoch and seq at the start of the sequence: the final nextSyncToken carries them. */
  e: number;
  s: number;
  /** Cursor: key of the last row returned (null = start). */
  cur: Key | null;
  /** Remaining forced-empty pages (paging knob). */
  x: number;
  /** The trailing empty page has been announced. */
  t: boolean;
}

interface SyncToken {
  k: "sync";
  n: string;
  c: string;
  e: number;
  s: number;
}

function firstAfter(rows: Row[], cur: Key | null): number {
  if (!cur) return 0;
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(rows[mid].key, cur) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** GET /calendar/v3/calendars/{calendarId}/events */
export function listEvents(ctx: Ctx, cal: Calendar, sp: URLSearchParams): Response {
  const q = parseListQuery(sp);
  if (q instanceof Response) return q;
  const maxRaw = sp.get("maxResults");
  let maxResults = DEFAULT_MAX_RESULTS;
  if (maxRaw !== null) {
    maxResults = Number(maxRaw);
    if (!Number.isInteger(maxResults) || maxResults < 1) return invalidParam("maxResults");
    maxResults = Math.min(maxResults, MAX_RESULTS); // "can never be larger than 2500"
  }
  const tz = sp.get("timeZone");
  if (tz !== null && !isValidTimeZone(tz)) return invalidParam("timeZone");

  // Garbage, foreign, pre-reset, invalidated or future sync tokens: 410 fullSyncRequired.
  const syncRaw = sp.get("syncToken");
  if (syncRaw !== null) {
    const t = decodeOpaque(syncRaw) as SyncToken | undefined;
    if (
      !isRecord(t) || t.k !== "sync" || t.n !== ctx.store.nonce || t.c !== cal.id ||
      t.e !== cal.epoch || typeof t.s !== "number" || t.s > cal.seq
    ) return fullSyncRequired();
    q.sinceSeq = t.s;
  }

  const pageRaw = sp.get("pageToken");
  const paging = ctx.config.paging;
  let page: PageToken = {
    k: "page",
    n: ctx.store.nonce,
    c: cal.id,
    e: cal.epoch,
    s: cal.seq,
    cur: null,
    x: paging.emptyPagesFirst,
    t: false,
  };
  if (pageRaw !== null) {
    const t = decodeOpaque(pageRaw) as PageToken | undefined;
    if (!isRecord(t) || t.k !== "page" || t.n !== ctx.store.nonce || t.c !== cal.id) {
      return invalidParam("pageToken", "Invalid page token.");
    }
    page = t;
  }

  let items: unknown[] = [];
  let next: PageToken | undefined;
  if (page.x > 0) {
    next = { ...page, x: page.x - 1 }; // forced empty page that still has a nextPageToken
  } else if (!page.t) {
    const rows = buildRows(ctx, cal, q);
    const from = firstAfter(rows, page.cur);
    const size = Math.min(maxResults, paging.pageSizeCap ?? MAX_RESULTS);
    const slice = rows.slice(from, from + size);
    items = slice.map((r) => r.item);
    const last = slice.length ? slice[slice.length - 1].key : page.cur;
    if (from + size < rows.length) next = { ...page, cur: last };
    else if (paging.trailingEmptyPage && slice.length > 0) next = { ...page, cur: last, t: true };
  }

  const body: Record<string, unknown> = {
    kind: "calendar#events",
    etag: `"p${cal.updatedMs}${cal.seq}"`,
    summary: cal.summary,
    updated: toIso(cal.updatedMs),
    timeZone: tz ?? cal.timeZone,
    accessRole: "owner",
    defaultReminders: [],
  };
  if (next) body.nextPageToken = encodeOpaque(next);
  body.items = items;
  if (!next) {
    const sync: SyncToken = { k: "sync", n: page.n, c: cal.id, e: page.e, s: page.s };
    body.nextSyncToken = encodeOpaque(sync);
  }
  return json(body);
}

/**
 * The truth a client mirror should converge to: full list, singleEvents=true, all pages. Accepts
 * the list filters (privateExtendedProperty=key=value, timeMin, q, showDeleted, …); items are the
 * full event resources (etag, transparency, attendees, extendedProperties), cancelled ones too.
 */
export function currentEvents(ctx: Ctx, cal: Calendar, sp: URLSearchParams): Response {
  const params = new URLSearchParams(sp);
  params.set("singleEvents", "true");
  params.delete("syncToken");
  params.delete("pageToken");
  params.delete("maxResults");
  const q = parseListQuery(params);
  if (q instanceof Response) return q;
  const items = buildRows(ctx, cal, q, true).map((r) => r.item);
  return json({ calendarId: cal.id, count: items.length, items });
}
