// The week view's geometry (web/status_page/week.ts), without a browser.
import assert from "node:assert/strict";
import { layoutWeek, weekWindow } from "../../web/status_page/week.ts";
import type { Schedule } from "../../web/client/mod.ts";

const MONDAY_NOON = Date.parse("2026-11-30T12:00:00Z");

function schedule(partial: Partial<Schedule>): Schedule {
  return { from: "", to: "", busy: [], sessions: [], ...partial };
}

function busy(id: string, startsAt: string, endsAt: string) {
  return {
    id,
    provider: "google" as const,
    starts_at: startsAt,
    ends_at: endsAt,
    tentative: false,
    title: id,
  };
}

Deno.test("the window is seven days from today in the user's zone, DST included", () => {
  const utc = weekWindow("UTC", MONDAY_NOON);
  assert.equal(utc.start.toString(), "2026-11-30");
  assert.equal(utc.from.toISOString(), "2026-11-30T00:00:00.000Z");
  assert.equal(utc.to.toISOString(), "2026-12-07T00:00:00.000Z");
  assert.equal(weekWindow("UTC", MONDAY_NOON, -1).start.toString(), "2026-11-23");
  // Late Sunday in New York is still Sunday there.
  const newYork = weekWindow("America/New_York", Date.parse("2026-11-30T03:00:00Z"));
  assert.equal(newYork.start.toString(), "2026-11-29");
  // The week of 2026-11-01 (clocks go back): one day has 25 hours.
  const dst = weekWindow("America/New_York", Date.parse("2026-10-30T16:00:00Z"));
  assert.equal(dst.to.getTime() - dst.from.getTime(), (7 * 24 + 1) * 3_600_000);
});

Deno.test("an item crossing midnight is drawn on both days, each piece labelled with its real times", () => {
  const window = weekWindow("UTC", MONDAY_NOON);
  const week = layoutWeek(
    schedule({ busy: [busy("late", "2026-11-30T22:00:00Z", "2026-12-01T01:00:00Z")] }),
    window,
    "UTC",
    MONDAY_NOON,
  );
  const [monday, tuesday] = week.days;
  assert.equal(monday.today, true);
  assert.equal(monday.items.length, 1);
  assert.equal(tuesday.items.length, 1);
  assert.equal(monday.items[0].startLabel, "22:00");
  assert.equal(monday.items[0].endLabel, "Tue 01:00");
  assert.equal(tuesday.items[0].startLabel, "Mon 22:00");
  // The visible hours widen to show the whole item: from midnight to midnight here.
  assert.equal(week.firstHour, 0);
  assert.equal(week.lastHour, 24);
  assert.ok(Math.abs(monday.items[0].top + monday.items[0].height - 100) < 1e-9);
  assert.equal(tuesday.items[0].top, 0);
});

Deno.test("overlapping items share the day's width; back-to-back ones keep the full width", () => {
  const window = weekWindow("UTC", MONDAY_NOON);
  const week = layoutWeek(
    schedule({
      busy: [
        busy("a", "2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z"),
        busy("b", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"),
        busy("c", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"),
      ],
      sessions: [{
        id: "s1",
        title: "Focus",
        status: "scheduled",
        locked: true,
        unscheduled_reason: null,
        priority: 1,
        duration_minutes: 60,
        deadline: null,
        blocks: [{
          session_id: "s1",
          index: 0,
          starts_at: "2026-11-30T09:30:00Z",
          ends_at: "2026-11-30T10:30:00Z",
          moved: true,
          moved_at: "2026-11-30T08:00:00Z",
        }],
      }],
    }),
    window,
    "UTC",
    MONDAY_NOON,
  );
  const [monday, tuesday] = week.days;
  assert.deepEqual(
    monday.items.map((item) => [item.kind, item.lane, item.lanes]),
    [["busy", 0, 2], ["block", 1, 2]],
  );
  const block = monday.items[1];
  assert.ok(block.kind === "block" && block.locked && block.moved);
  assert.deepEqual(tuesday.items.map((item) => [item.lane, item.lanes]), [[0, 1], [0, 1]]);
  // A working day is shown even when the week is nearly empty.
  assert.equal(week.firstHour, 8);
  assert.equal(week.lastHour, 18);
  assert.equal(week.label, "Nov 30 – Dec 6, 2026");
});
