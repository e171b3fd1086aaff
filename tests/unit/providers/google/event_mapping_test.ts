import assert from "node:assert/strict";
import {
  APP_EVENT_PROPERTY,
  isCancelled,
  mapGoogleEvent,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";

const NY = "America/New_York";

Deno.test("mapping: all-day events resolve to local midnight across DST (end exclusive)", () => {
  // 2026-03-08 is the spring-forward Sunday in New York: a 23-hour day.
  const spring = mapGoogleEvent({
    id: "d1",
    start: { date: "2026-03-08" },
    end: { date: "2026-03-09" },
  }, NY);
  assert.equal(spring.all_day, true);
  assert.equal(spring.starts_at, "2026-03-08T05:00:00.000Z");
  assert.equal(spring.ends_at, "2026-03-09T04:00:00.000Z");
  // 2026-11-01 falls back: a 25-hour day.
  const fall = mapGoogleEvent({
    id: "d2",
    start: { date: "2026-11-01" },
    end: { date: "2026-11-02" },
  }, NY);
  assert.equal(fall.starts_at, "2026-11-01T04:00:00.000Z");
  assert.equal(fall.ends_at, "2026-11-02T05:00:00.000Z");
  // Where midnight itself does not exist, the day starts at the first valid instant.
  const sp = mapGoogleEvent({
    id: "d3",
    start: { date: "2018-11-04" },
    end: { date: "2018-11-05" },
  }, "America/Sao_Paulo");
  assert.equal(sp.starts_at, "2018-11-04T03:00:00.000Z");
});

Deno.test("mapping: timed events with offsets and with a zone but no offset", () => {
  const row = mapGoogleEvent({
    id: "t1",
    status: "confirmed",
    summary: "Standup",
    start: { dateTime: "2026-03-08T09:30:00-04:00", timeZone: NY },
    end: { dateTime: "2026-03-08T10:00:00+05:30" },
    transparency: "transparent",
    eventType: "focusTime",
    etag: '"3181161784712000"',
    updated: "2026-03-01T12:00:00.123Z",
    iCalUID: "t1@google.com",
    attendees: [
      { email: "a@x", responseStatus: "accepted" },
      { email: "me@x", self: true, responseStatus: "declined" },
    ],
    extendedProperties: { private: { [APP_EVENT_PROPERTY]: "block-1" } },
  }, "Europe/Berlin");
  assert.deepEqual(row, {
    external_id: "t1",
    status: "confirmed",
    summary: "Standup",
    starts_at: "2026-03-08T13:30:00.000Z",
    ends_at: "2026-03-08T04:30:00.000Z",
    all_day: false,
    transparency: "transparent",
    self_response_status: "declined",
    event_type: "focusTime",
    recurring_event_id: null,
    original_start_time: null,
    etag: '"3181161784712000"',
    external_updated_at: "2026-03-01T12:00:00.123Z",
    app_owned: true,
    app_tag: "block-1",
    ical_uid: "t1@google.com",
  });
  const noOffset = mapGoogleEvent({
    id: "t2",
    start: { dateTime: "2026-07-01T09:00:00", timeZone: NY },
    end: { dateTime: "2026-07-01T10:00:00Z" },
  }, "UTC");
  assert.equal(noOffset.starts_at, "2026-07-01T13:00:00.000Z");
  const defaults = mapGoogleEvent({
    id: "t3",
    start: { dateTime: "2026-07-01T09:00:00Z" },
    end: { dateTime: "2026-07-01T10:00:00Z" },
  }, "UTC");
  assert.equal(defaults.status, "confirmed");
  assert.equal(defaults.transparency, "opaque");
  assert.equal(defaults.event_type, "default");
  assert.equal(defaults.app_owned, false);
  assert.equal(defaults.self_response_status, null);
});

Deno.test("mapping: cancelled items (deleted event / cancelled instance) with sparse fields", () => {
  const deleted = { id: "gone1", status: "cancelled" };
  assert.equal(isCancelled(deleted), true);
  const row = mapGoogleEvent(deleted, NY);
  assert.equal(row.status, "cancelled");
  assert.equal(row.starts_at, null);
  assert.equal(row.ends_at, null);
  assert.equal(row.all_day, false);

  const instance = mapGoogleEvent({
    id: "rec1_20260309T140000Z",
    status: "cancelled",
    recurringEventId: "rec1",
    originalStartTime: { dateTime: "2026-03-09T10:00:00-04:00", timeZone: NY },
  }, NY);
  assert.equal(instance.recurring_event_id, "rec1");
  assert.equal(instance.original_start_time, "2026-03-09T14:00:00.000Z");
  const allDayInstance = mapGoogleEvent({
    id: "rec2_20260308",
    status: "cancelled",
    recurringEventId: "rec2",
    originalStartTime: { date: "2026-03-08" },
  }, NY);
  assert.equal(allDayInstance.original_start_time, "2026-03-08T05:00:00.000Z");
  assert.equal(isCancelled({ id: "x", status: "tentative" }), false);
  assert.equal(isCancelled({ id: "x" }), false);
});
