import assert from "node:assert/strict";
import {
  type CalendarEventRow,
  calendarEventsToBusy,
  calendarEventToBusy,
  classifyEvent,
  isBusyEvent,
} from "../../../supabase/functions/_shared/scheduling/mod.ts";

function ev(over: Partial<CalendarEventRow> = {}): CalendarEventRow {
  return {
    id: "e1",
    status: "confirmed",
    transparency: "opaque",
    self_response_status: "accepted",
    event_type: "default",
    all_day: false,
    starts_at: "2026-03-02T10:00:00Z",
    ends_at: "2026-03-02T11:00:00Z",
    ...over,
  };
}

Deno.test("default opaque confirmed accepted event is busy, with its half-open interval", () => {
  assert.deepEqual(calendarEventToBusy(ev()), {
    source: "google",
    id: "e1",
    start: Date.parse("2026-03-02T10:00:00Z"),
    end: Date.parse("2026-03-02T11:00:00Z"),
  });
  assert.equal(isBusyEvent(ev({ self_response_status: null })), true); // organiser / no attendees
  assert.equal(isBusyEvent(ev({ event_type: "fromGmail" })), true);
});

Deno.test("cancelled → free", () => {
  assert.equal(isBusyEvent(ev({ status: "cancelled" })), false);
  assert.equal(isBusyEvent(ev({ status: "cancelled", event_type: "outOfOffice" })), false);
});

Deno.test("transparent → free (even focus time / OOO)", () => {
  assert.equal(isBusyEvent(ev({ transparency: "transparent" })), false);
  assert.equal(isBusyEvent(ev({ transparency: "transparent", event_type: "focusTime" })), false);
});

Deno.test("declined by self → free", () => {
  assert.equal(isBusyEvent(ev({ self_response_status: "declined" })), false);
});

Deno.test("workingLocation and birthday → free", () => {
  assert.equal(isBusyEvent(ev({ event_type: "workingLocation" })), false);
  assert.equal(isBusyEvent(ev({ event_type: "workingLocation", all_day: true })), false);
  assert.equal(isBusyEvent(ev({ event_type: "birthday", all_day: true })), false);
});

Deno.test("all-day → free unless out of office; OOO timed or all-day → busy", () => {
  assert.equal(isBusyEvent(ev({ all_day: true })), false);
  assert.equal(isBusyEvent(ev({ all_day: true, event_type: "focusTime" })), false);
  assert.equal(isBusyEvent(ev({ all_day: true, event_type: "outOfOffice" })), true);
  assert.equal(isBusyEvent(ev({ event_type: "outOfOffice" })), true);
  assert.equal(classifyEvent(ev({ all_day: true })).rule, "all_day");
});

Deno.test("focusTime → busy", () => {
  assert.equal(isBusyEvent(ev({ event_type: "focusTime" })), true);
});

Deno.test("tentative (event or self response) → busy only when tentative_is_busy (default true)", () => {
  for (const e of [ev({ status: "tentative" }), ev({ self_response_status: "tentative" })]) {
    assert.equal(isBusyEvent(e), true);
    assert.equal(isBusyEvent(e, {}), true);
    assert.equal(isBusyEvent(e, { tentative_is_busy: true }), true);
    assert.equal(isBusyEvent(e, { tentative_is_busy: false }), false);
    assert.equal(classifyEvent(e).rule, "tentative");
  }
});

Deno.test("needsAction (unanswered invitation) → busy", () => {
  assert.equal(isBusyEvent(ev({ self_response_status: "needsAction" })), true);
  assert.equal(classifyEvent(ev({ self_response_status: "needsAction" })).rule, "needs_action");
});

Deno.test("invalid or empty times are never busy; list helper drops free events", () => {
  assert.equal(calendarEventToBusy(ev({ ends_at: "2026-03-02T10:00:00Z" })), null);
  assert.equal(calendarEventToBusy(ev({ starts_at: "garbage" })), null);
  const busy = calendarEventsToBusy(
    [
      ev({ id: "a" }),
      ev({ id: "b", status: "cancelled" }),
      ev({ id: "c", starts_at: 1000, ends_at: 2000 }),
    ],
    {},
    "calendly",
  );
  assert.deepEqual(busy.map((b) => [b.id, b.source]), [["a", "calendly"], ["c", "calendly"]]);
});
