// Google's busy policy, row by row, and how the mirror applies it to Google events with times.
import assert from "node:assert/strict";
import {
  APP_EVENT_PROPERTY,
  classifyEvent,
  type GoogleEventFacts,
  isBusyEvent,
  toChangePage,
} from "../../../../supabase/functions/_shared/providers/google/mod.ts";

function ev(over: Partial<GoogleEventFacts> = {}): GoogleEventFacts {
  return {
    status: "confirmed",
    transparency: "opaque",
    self_response_status: "accepted",
    event_type: "default",
    all_day: false,
    ...over,
  };
}

Deno.test("default opaque confirmed accepted event is busy, with its half-open interval", () => {
  const { items } = toChangePage([{
    id: "e1",
    start: { dateTime: "2026-03-02T10:00:00Z" },
    end: { dateTime: "2026-03-02T11:00:00Z" },
    attendees: [{ email: "me@example.test", self: true, responseStatus: "accepted" }],
  }], "UTC");
  assert.deepEqual(
    items.map((i) => [i.external_id, i.is_busy, Date.parse(i.starts_at), Date.parse(i.ends_at)]),
    [["e1", true, Date.parse("2026-03-02T10:00:00Z"), Date.parse("2026-03-02T11:00:00Z")]],
  );
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

Deno.test("invalid or empty times are never busy; cancelled items leave the mirror", () => {
  const at = (h: number) => `2026-03-02T${String(h).padStart(2, "0")}:00:00Z`;
  const page = toChangePage([
    { id: "a", start: { dateTime: at(10) }, end: { dateTime: at(11) } },
    { id: "b", status: "cancelled" },
    { id: "empty", start: { dateTime: at(10) }, end: { dateTime: at(10) } },
    { id: "inverted", start: { dateTime: at(11) }, end: { dateTime: at(10) } },
    { id: "no-times" },
  ], "UTC");
  assert.deepEqual(page.removedIds, ["b"]);
  assert.deepEqual(page.items.map((i) => [i.external_id, i.is_busy]), [
    ["a", true],
    ["empty", false],
    ["inverted", false],
  ]);
});

Deno.test("an event this bundle wrote (its private property) is never busy for its user", () => {
  assert.equal(isBusyEvent(ev({ app_owned: true })), false);
  assert.equal(classifyEvent(ev({ app_owned: true, event_type: "outOfOffice" })).rule, "app_owned");
  const { items } = toChangePage([{
    id: "mine",
    start: { dateTime: "2026-03-02T10:00:00Z" },
    end: { dateTime: "2026-03-02T11:00:00Z" },
    extendedProperties: { private: { [APP_EVENT_PROPERTY]: "block-1" } },
  }], "UTC");
  assert.equal(items[0].is_busy, false);
  assert.equal(items[0].app_tag, "block-1");
});
