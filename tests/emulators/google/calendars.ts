// Calendar resources: calendars.insert / calendars.get / calendars.delete and
// calendarList.list.
//
// Invariants: every calendar has exactly one owner (the account whose token created it); the
// primary calendar's id is the account's email and it can never be deleted; a deleted secondary
// calendar disappears from the owner's calendar list together with its events, its id is never
// handed out again, and its push channels are stopped (they deliver nothing more).

import type { Ctx } from "./context.ts";
import { googleError } from "./errors.ts";
import type { Calendar } from "./store.ts";
import { isValidTimeZone, toIso } from "./time.ts";
import { empty, isRecord, json, newEventId } from "./util.ts";

/** The Calendar resource (calendar#calendar) as calendars.get/insert return it. */
export function calendarResource(cal: Calendar): Record<string, unknown> {
  const res: Record<string, unknown> = {
    kind: "calendar#calendar",
    etag: cal.etag,
    id: cal.id,
    summary: cal.summary,
  };
  if (cal.description !== undefined) res.description = cal.description;
  res.timeZone = cal.timeZone;
  res.conferenceProperties = { allowedConferenceSolutionTypes: ["hangoutsMeet"] };
  return res;
}

/** POST /calendar/v3/calendars — a secondary calendar owned by the caller. */
export function insertCalendar(ctx: Ctx, email: string, body: unknown): Response {
  if (!isRecord(body)) return googleError(400, "required", { message: "Required" });
  const { summary, description } = body;
  if (typeof summary !== "string" || summary.trim() === "") {
    return googleError(400, "required", { message: "Missing title." });
  }
  if (description !== undefined && typeof description !== "string") {
    return googleError(400, "invalid", { message: "Invalid value for: description" });
  }
  // Google: the new calendar defaults to the user's time zone; here the primary calendar's.
  const primary = ctx.store.calendars.get(email);
  const timeZone = body.timeZone ?? primary?.timeZone ?? "UTC";
  if (typeof timeZone !== "string" || !isValidTimeZone(timeZone)) {
    return googleError(400, "invalid", { message: "Invalid time zone definition." });
  }
  let id: string;
  do id = `${newEventId()}@group.calendar.google.com`; while (ctx.store.calendarIdTaken(id));
  const cal = ctx.store.createCalendar(id, email, summary, timeZone, ctx.clock.now());
  if (typeof description === "string") cal.description = description;
  return json(calendarResource(cal));
}

/** DELETE /calendar/v3/calendars/{id} — secondary calendars only. */
export function deleteCalendar(ctx: Ctx, cal: Calendar): Response {
  if (cal.id === cal.owner) {
    return googleError(400, "cannotDeletePrimaryCalendar");
  }
  const now = ctx.clock.now();
  ctx.push.stopForCalendar(cal.id, now, "calendar.deleted");
  ctx.store.deleteCalendar(cal, now);
  return empty(204);
}

/** GET /calendar/v3/users/me/calendarList */
export function calendarList(ctx: Ctx, email: string): Response {
  const items = [...ctx.store.calendars.values()].filter((c) => c.owner === email).map((c) => {
    const entry: Record<string, unknown> = {
      kind: "calendar#calendarListEntry",
      etag: c.etag,
      id: c.id,
      summary: c.summary,
    };
    if (c.description !== undefined) entry.description = c.description;
    entry.timeZone = c.timeZone;
    entry.accessRole = "owner";
    if (c.id === email) entry.primary = true;
    return entry;
  });
  return json({ kind: "calendar#calendarList", etag: `"${toIso(ctx.clock.now())}"`, items });
}
