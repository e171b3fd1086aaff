// Calendly's full-then-incremental sync on the sync core, against the Calendly emulator: the
// seed's numbers (150 active and 25 canceled meetings, mostly history), the windows, what a
// forced full sync reads, and meetings that vanished from a full window.
import assert from "node:assert/strict";
import { syncCalendar } from "../../../../supabase/functions/_shared/sync/runner.ts";
import { createMemorySyncStore } from "../../../../supabase/functions/_shared/sync/store_memory.ts";
import { calendlyChangeStrategy } from "../../../../supabase/functions/_shared/providers/calendly/strategy.ts";
import { calendlyClient, control, type Emulator, withEmulator } from "./_emulator.ts";

const DAY = 86_400_000;

/** 175 meetings over 2 years back to 1 year forward; 20 of them in the incremental window. */
async function seedSeedsHistory(emu: Emulator, user: string) {
  const now = Date.now();
  const events: { start_time: string; duration_minutes: number; status?: string }[] = [];
  for (let i = 0; i < 155; i++) {
    // History older than the incremental window (3 months back), and 10 far in the future.
    const offset = i < 145 ? -(100 + i * 4) * DAY : (200 + i) * DAY;
    events.push({
      start_time: new Date(now + offset).toISOString(),
      duration_minutes: 30,
      ...(i % 7 === 0 && i < 161 ? { status: "canceled" } : {}),
    });
  }
  for (let i = 0; i < 20; i++) {
    events.push({
      start_time: new Date(now + (-60 + i * 8) * DAY).toISOString(),
      duration_minutes: 45,
      ...(i === 3 || i === 11 ? { status: "canceled" } : {}),
    });
  }
  await control(emu, "/seed", { user, events });
  const canceled = events.filter((event) => event.status === "canceled").length;
  return { total: events.length, canceled };
}

Deno.test("the first Calendly sync is FULL, the next INCREMENTAL with far less data", () =>
  withEmulator(async (emu) => {
    const user = await control<{ uri: string; refresh_token: string }>(emu, "/users", {
      email: "host@example.test",
    });
    const seeded = await seedSeedsHistory(emu, user.uri);
    const client = calendlyClient(emu, user.refresh_token);
    const clock = { now: () => Date.now(), monotonic: () => performance.now() };
    const store = createMemorySyncStore({ provider: "calendly" }, clock);
    const target = { connectionId: store.connection.id, calendarId: user.uri };
    const lines: string[] = [];
    const deps = {
      store,
      strategy: () =>
        calendlyChangeStrategy({ client, userUri: user.uri, clock, log: (l) => lines.push(l) }),
      clock,
      leaseSeconds: 15,
      log: (line: string) => lines.push(line),
    };

    await control(emu, "/counters/reset", {});
    const first = await syncCalendar(deps, target);
    const full = await control<{ items_returned: Record<string, number> }>(emu, "/counters");
    assert.equal(first.fullSync, true);
    assert.equal(first.inserted, seeded.total, "every meeting is new");
    assert.ok(
      lines.includes("FULL SYNC: Fetching all Calendly events (2 years back, 1 year forward)"),
    );
    assert.ok(
      lines.includes(
        `FULL fetch complete: ${seeded.total - seeded.canceled} active, ` +
          `${seeded.canceled} canceled`,
      ),
      lines.join("\n"),
    );
    assert.ok(
      lines.includes(`FULL Calendly sync complete: ${seeded.total} new, 0 updated, 0 deleted`),
    );
    const fullItems = full.items_returned["scheduled_events.list"];
    assert.equal(fullItems, seeded.total);
    const busy = [...store.state(target).mirror.values()].filter((row) => row.is_busy).length;
    assert.equal(
      busy,
      seeded.total - seeded.canceled,
      "active meetings are busy, canceled ones not",
    );

    await control(emu, "/counters/reset", {});
    lines.length = 0;
    store.mark(target);
    const second = await syncCalendar(deps, target);
    const incremental = await control<{ items_returned: Record<string, number> }>(emu, "/counters");
    assert.equal(second.fullSync, false);
    assert.ok(lines.some((line) => line.startsWith("INCREMENTAL SYNC")));
    const fetched = incremental.items_returned["scheduled_events.list"];
    assert.ok(fetched <= 0.16 * fullItems, `${fetched} of ${fullItems} is more than 16 %`);
    assert.equal(fetched, 20);

    // Forcing a full sync (calendly_initial_sync_complete = false) reads the full window again.
    await control(emu, "/counters/reset", {});
    store.state(target).fullSyncRequired = true;
    store.mark(target);
    const forced = await syncCalendar(deps, target);
    const again = await control<{ items_returned: Record<string, number> }>(emu, "/counters");
    assert.equal(forced.fullSync, true);
    assert.equal(again.items_returned["scheduled_events.list"], fullItems);
    assert.equal(forced.inserted, 0, "nothing new the second time");
  }));

Deno.test("a meeting that vanished from a full window is canceled, not deleted", () =>
  withEmulator(async (emu) => {
    const user = await control<{ uri: string; refresh_token: string }>(emu, "/users", {
      email: "host2@example.test",
    });
    await control(emu, "/seed", {
      user: user.uri,
      events: [{ start_time: new Date(Date.now() + 2 * DAY).toISOString(), duration_minutes: 30 }],
    });
    const client = calendlyClient(emu, user.refresh_token);
    const clock = { now: () => Date.now(), monotonic: () => performance.now() };
    const store = createMemorySyncStore({ provider: "calendly" }, clock);
    const target = { connectionId: store.connection.id, calendarId: user.uri };
    const deps = {
      store,
      strategy: () => calendlyChangeStrategy({ client, userUri: user.uri, clock }),
      clock,
      leaseSeconds: 15,
    };
    await syncCalendar(deps, target);
    // A meeting the mirror has but Calendly no longer lists in the window.
    const ghost = [...store.state(target).mirror.values()][0];
    store.state(target).mirror.set("ghost", { ...ghost, external_id: "ghost", seenGeneration: 0 });
    store.state(target).fullSyncRequired = true;
    store.mark(target);
    await syncCalendar(deps, target);
    assert.equal(store.state(target).mirror.get("ghost")?.status, "cancelled");
  }));
