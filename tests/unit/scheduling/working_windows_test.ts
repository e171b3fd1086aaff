import assert from "node:assert/strict";
import fc from "fast-check";
import { Temporal } from "temporal-polyfill";
import {
  localTimeToEpochMs,
  parseWorkingHours,
  workingWindows,
} from "../../../supabase/functions/_shared/scheduling/working_windows.ts";
import {
  ScheduleInputError,
  type TimeRange,
  type Weekday,
} from "../../../supabase/functions/_shared/scheduling/mod.ts";
import { DAY, HOUR, propertyRuns, propertySeed, referenceWindows, utc } from "./_helpers.ts";

/** Windows of one weekday's ranges on the local date containing `dayIso`. */
function windowsOn(tz: string, day: Weekday, dayIso: string, ranges: TimeRange[]) {
  const noon = Temporal.PlainDate.from(dayIso).toZonedDateTime({
    timeZone: tz,
    plainTime: Temporal.PlainTime.from("12:00"),
  }).epochMilliseconds;
  return workingWindows(tz, parseWorkingHours({ [day]: ranges }), noon - 2 * DAY, noon + 2 * DAY);
}

const iso = (ms: number) => new Date(ms).toISOString();
const span = (
  w: { start: number; end: number },
) => [iso(w.start), iso(w.end), (w.end - w.start) / HOUR];

Deno.test("America/New_York spring forward 2026-03-08", () => {
  const tz = "America/New_York";
  // A normal 09:00–17:00 is still 8 real hours, at EDT.
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-08", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-03-08T13:00:00.000Z", "2026-03-08T21:00:00.000Z", 8],
    ],
  );
  // 01:00–04:00 contains the gap: 2 real hours (01:00 EST → 04:00 EDT).
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-08", [{ start: "01:00", end: "04:00" }]).map(span),
    [
      ["2026-03-08T06:00:00.000Z", "2026-03-08T08:00:00.000Z", 2],
    ],
  );
  // Non-existent start 02:30 → compatible → 03:30 EDT.
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-08", [{ start: "02:30", end: "05:00" }]).map(span),
    [
      ["2026-03-08T07:30:00.000Z", "2026-03-08T09:00:00.000Z", 1.5],
    ],
  );
  // Both bounds in the gap: 02:00–02:30 → 03:00–03:30 EDT; 02:30–03:00 collapses → dropped.
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-08", [{ start: "02:00", end: "02:30" }]).map(span),
    [
      ["2026-03-08T07:00:00.000Z", "2026-03-08T07:30:00.000Z", 0.5],
    ],
  );
  assert.deepEqual(windowsOn(tz, "sun", "2026-03-08", [{ start: "02:30", end: "03:00" }]), []);
  // Neighbouring days use the right offset (EST before, EDT after).
  assert.deepEqual(
    windowsOn(tz, "sat", "2026-03-07", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-03-07T14:00:00.000Z", "2026-03-07T22:00:00.000Z", 8],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "mon", "2026-03-09", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-03-09T13:00:00.000Z", "2026-03-09T21:00:00.000Z", 8],
    ],
  );
  // Saturday 22:00–24:00 ends at the (EST) start of Sunday.
  assert.deepEqual(
    windowsOn(tz, "sat", "2026-03-07", [{ start: "22:00", end: "24:00" }]).map(span),
    [
      ["2026-03-08T03:00:00.000Z", "2026-03-08T05:00:00.000Z", 2],
    ],
  );
});

Deno.test("America/New_York fall back 2026-11-01", () => {
  const tz = "America/New_York";
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-11-01", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-11-01T14:00:00.000Z", "2026-11-01T22:00:00.000Z", 8],
    ],
  );
  // 01:00–02:00 spans the repeated hour: one hour longer (01:00 EDT → 02:00 EST).
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-11-01", [{ start: "01:00", end: "02:00" }]).map(span),
    [
      ["2026-11-01T05:00:00.000Z", "2026-11-01T07:00:00.000Z", 2],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-11-01", [{ start: "00:00", end: "03:00" }]).map(span),
    [
      ["2026-11-01T04:00:00.000Z", "2026-11-01T08:00:00.000Z", 4],
    ],
  );
  // Ambiguous 01:30 → compatible → the earlier (EDT) instant.
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-11-01", [{ start: "01:30", end: "03:00" }]).map(span),
    [
      ["2026-11-01T05:30:00.000Z", "2026-11-01T08:00:00.000Z", 2.5],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "mon", "2026-11-02", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-11-02T14:00:00.000Z", "2026-11-02T22:00:00.000Z", 8],
    ],
  );
});

Deno.test("Europe/Berlin spring forward 2026-03-29", () => {
  const tz = "Europe/Berlin";
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-29", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-03-29T07:00:00.000Z", "2026-03-29T15:00:00.000Z", 8],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-29", [{ start: "01:00", end: "04:00" }]).map(span),
    [
      ["2026-03-29T00:00:00.000Z", "2026-03-29T02:00:00.000Z", 2],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-03-29", [{ start: "02:30", end: "04:00" }]).map(span),
    [
      ["2026-03-29T01:30:00.000Z", "2026-03-29T02:00:00.000Z", 0.5],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sat", "2026-03-28", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-03-28T08:00:00.000Z", "2026-03-28T16:00:00.000Z", 8],
    ],
  );
});

Deno.test("Europe/Berlin fall back 2026-10-25", () => {
  const tz = "Europe/Berlin";
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-10-25", [{ start: "09:00", end: "17:00" }]).map(span),
    [
      ["2026-10-25T08:00:00.000Z", "2026-10-25T16:00:00.000Z", 8],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-10-25", [{ start: "02:00", end: "03:00" }]).map(span),
    [
      ["2026-10-25T00:00:00.000Z", "2026-10-25T02:00:00.000Z", 2],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-10-25", [{ start: "01:00", end: "04:00" }]).map(span),
    [
      ["2026-10-24T23:00:00.000Z", "2026-10-25T03:00:00.000Z", 4],
    ],
  );
  assert.deepEqual(
    windowsOn(tz, "sun", "2026-10-25", [{ start: "02:30", end: "04:00" }]).map(span),
    [
      ["2026-10-25T00:30:00.000Z", "2026-10-25T03:00:00.000Z", 2.5],
    ],
  );
});

Deno.test("localTimeToEpochMs pins disambiguation: compatible", () => {
  const ny = "America/New_York";
  assert.equal(
    localTimeToEpochMs(Temporal.PlainDate.from("2026-03-08"), 150, ny),
    utc("2026-03-08T07:30:00Z"),
  );
  assert.equal(
    localTimeToEpochMs(Temporal.PlainDate.from("2026-11-01"), 90, ny),
    utc("2026-11-01T05:30:00Z"),
  );
  assert.equal(
    localTimeToEpochMs(Temporal.PlainDate.from("2026-11-01"), 1440, ny),
    utc("2026-11-02T05:00:00Z"),
  );
});

Deno.test("several ranges per day merge when adjacent; midnight joins Mon 24:00 and Tue 00:00", () => {
  const hours = parseWorkingHours({
    mon: [{ start: "13:00", end: "17:00" }, { start: "09:00", end: "13:00" }, {
      start: "20:00",
      end: "24:00",
    }],
    tue: [{ start: "00:00", end: "02:00" }],
  });
  const w = workingWindows("UTC", hours, utc("2026-03-02T00:00:00Z"), utc("2026-03-04T00:00:00Z"));
  assert.deepEqual(w.map(span), [
    ["2026-03-02T09:00:00.000Z", "2026-03-02T17:00:00.000Z", 8],
    ["2026-03-02T20:00:00.000Z", "2026-03-03T02:00:00.000Z", 6],
  ]);
  // clipped to [from, to)
  const c = workingWindows("UTC", hours, utc("2026-03-02T10:00:00Z"), utc("2026-03-02T21:00:00Z"));
  assert.deepEqual(c.map(span), [
    ["2026-03-02T10:00:00.000Z", "2026-03-02T17:00:00.000Z", 7],
    ["2026-03-02T20:00:00.000Z", "2026-03-02T21:00:00.000Z", 1],
  ]);
});

Deno.test("malformed working hours are rejected", () => {
  for (
    const r of [{ start: "9:00", end: "17:00" }, { start: "09:00", end: "24:30" }, {
      start: "24:00",
      end: "24:00",
    }, { start: "17:00", end: "09:00" }]
  ) {
    assert.throws(() => parseWorkingHours({ mon: [r] }), ScheduleInputError);
  }
});

Deno.test("fast path equals the pure-Temporal reference across zones and dates (property)", () => {
  const zones = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe", // 30-minute DST
    "America/Santiago", // DST at midnight
    "Asia/Kathmandu", // +05:45
    "Pacific/Apia",
    "America/Sao_Paulo",
  ];
  const hm = fc.integer({ min: 0, max: 47 }).map((h) =>
    `${String(Math.floor(h / 2)).padStart(2, "0")}:${h % 2 ? "30" : "00"}`
  );
  const range = fc.tuple(hm, fc.integer({ min: 1, max: 48 })).map(([s, len]) => {
    const sm = Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
    const em = Math.min(1440, sm + len * 30);
    return {
      start: s,
      end: `${String(Math.floor(em / 60)).padStart(2, "0")}:${em % 60 ? "30" : "00"}`,
    };
  });
  const hoursArb = fc.record({
    mon: fc.array(range, { maxLength: 2 }),
    tue: fc.array(range, { maxLength: 2 }),
    wed: fc.array(range, { maxLength: 2 }),
    thu: fc.array(range, { maxLength: 2 }),
    fri: fc.array(range, { maxLength: 2 }),
    sat: fc.array(range, { maxLength: 2 }),
    sun: fc.array(range, { maxLength: 2 }),
  });
  fc.assert(
    fc.property(
      fc.constantFrom(...zones),
      hoursArb,
      fc.integer({ min: 0, max: 2 * 365 * 24 * 4 }),
      fc.integer({ min: 1, max: 40 }),
      (tz, hours, quarter, days) => {
        const from = utc("2025-06-01T00:00:00Z") + quarter * 15 * 60_000 + 1234;
        const to = from + days * DAY;
        const fast = workingWindows(tz, parseWorkingHours(hours), from, to);
        const ref = referenceWindows(tz, hours, from, to)
          .map((w) => ({ start: Math.max(w.start, from), end: Math.min(w.end, to) }))
          .filter((w) => w.end > w.start);
        assert.deepEqual(fast, ref);
      },
    ),
    { seed: propertySeed(3082026), numRuns: propertyRuns(300) },
  );
});
