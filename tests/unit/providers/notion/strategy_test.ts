// Notion's change strategy on the sync core's runner, against the Notion emulator: the full
// read, the overlapping last_edited_time cursor (two edits within one minute are both seen, an
// unchanged page is not written again), and convergence by polling alone — trashed, un-dated,
// re-dated, restored and moved pages — plus the daily full read and an unreadable cursor.
import assert from "node:assert/strict";
import {
  encodeCursor,
  FULL_READ_EVERY_MS,
} from "../../../../supabase/functions/_shared/providers/notion/strategy.ts";
import { normalizeNotionId } from "../../../../supabase/functions/_shared/providers/notion/mapping.ts";
import {
  addPage,
  clock,
  control,
  editPage,
  syncHarness,
  withEmulator,
  workspace,
} from "./_emulator.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(ms).toISOString();
const slot = (fromNowMs: number, minutes = 60) => ({
  start: at(Date.now() + fromNowMs),
  end: at(Date.now() + fromNowMs + minutes * 60_000),
});

Deno.test("the first sync reads every dated page; undated ones never enter the mirror; the next one writes nothing unchanged", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const ids = [
      await addPage(emu, ws, "Standup", slot(DAY)),
      await addPage(emu, ws, "Offsite", { start: at(Date.now() + 3 * DAY).slice(0, 10) }),
      await addPage(emu, ws, "Review", slot(2 * DAY, 90)),
    ];
    await addPage(emu, ws, "Someday", null);
    const h = syncHarness(emu, ws);
    const first = await h.sync();
    assert.equal(first.fullSync, true);
    assert.equal(first.inserted, 3);
    assert.deepEqual([...h.rows().keys()].sort(), ids.map(normalizeNotionId).sort());
    assert.equal(h.rows().get(normalizeNotionId(ids[1]))?.all_day, true);
    assert.ok(h.lines.some((line) => line.includes("FULL Notion sync complete: 3 new")));

    const second = await h.sync();
    assert.equal(second.fullSync, false);
    assert.equal(second.upserted, 0, "the overlap re-reads pages, the etag skips them");
    assert.equal(second.deleted, 0);
    assert.ok(h.lines.some((line) => /INCREMENTAL read: \d+ pages, 3 unchanged/.test(line)));
  }));

Deno.test("two edits within the same minute are both seen", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    await clock(emu, { set: at(minute + 5_000), freeze: true });
    const id = normalizeNotionId(await addPage(emu, ws, "Draft", slot(DAY)));
    const h = syncHarness(emu, ws);
    await h.sync();

    await clock(emu, { advanceSeconds: 15 });
    const first = slot(2 * DAY);
    await editPage(emu, id, { properties: { date: first } });
    const one = await h.sync();
    assert.equal(one.updated, 1, "the first edit of the minute");
    assert.equal(h.rows().get(id)?.starts_at, new Date(first.start).toISOString());

    await clock(emu, { advanceSeconds: 15 });
    const second = slot(3 * DAY);
    await editPage(emu, id, { properties: { date: second, title: "Final" } });
    const page = await control<{ last_edited_time: string }>(emu, `/pages/${id}`);
    assert.equal(page.last_edited_time, at(minute), "Notion shows the same minute for both edits");
    const two = await h.sync();
    assert.equal(two.updated, 1, "the second edit of the same minute");
    assert.equal(h.rows().get(id)?.starts_at, new Date(second.start).toISOString());
    assert.equal(h.rows().get(id)?.summary, "Final");

    const none = await h.sync();
    assert.equal(none.upserted, 0, "nothing new: nothing written");
  }));

Deno.test("by polling alone, trashed, un-dated, re-dated and moved pages converge; a restored one comes back", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const trashed = normalizeNotionId(await addPage(emu, ws, "Trashed", slot(DAY)));
    const undated = normalizeNotionId(await addPage(emu, ws, "Undated", slot(2 * DAY)));
    const redated = normalizeNotionId(await addPage(emu, ws, "Redated", slot(3 * DAY)));
    const moved = normalizeNotionId(await addPage(emu, ws, "Moved", slot(4 * DAY)));
    const kept = normalizeNotionId(await addPage(emu, ws, "Kept", slot(5 * DAY)));
    const other = await control<{ data_source_id: string }>(
      emu,
      `/databases/${ws.db}/data_sources`,
      {
        name: "Archive",
      },
    );
    const h = syncHarness(emu, ws);
    await h.sync();
    assert.equal(h.rows().size, 5);

    await editPage(emu, trashed, { in_trash: true });
    await editPage(emu, undated, { properties: { date: null } });
    const later = slot(6 * DAY, 30);
    await editPage(emu, redated, { properties: { date: later } });
    await control(emu, `/pages/${moved}/move`, { data_source_id: other.data_source_id });
    const poll = await h.sync();
    assert.equal(poll.fullSync, false);
    assert.deepEqual([...h.rows().keys()].sort(), [kept, redated].sort());
    assert.equal(h.rows().get(redated)?.ends_at, new Date(later.end).toISOString());
    assert.equal(poll.busyChanged, true);

    await editPage(emu, trashed, { in_trash: false });
    await h.sync();
    assert.ok(h.rows().has(trashed), "restored");
  }));

Deno.test("a trash of a page dated long ago waits for the daily full read, which is forced by the cursor", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const old = normalizeNotionId(await addPage(emu, ws, "Old", slot(-30 * DAY)));
    let shift = 0;
    const shifted = { now: () => Date.now() + shift, monotonic: () => performance.now() };
    const h = syncHarness(emu, ws, { clock: shifted });
    await h.sync();
    await editPage(emu, old, { in_trash: true });
    const poll = await h.sync();
    assert.equal(poll.fullSync, false);
    assert.ok(h.rows().has(old), "outside the live window: not checked by the poll");

    shift = FULL_READ_EVERY_MS + HOUR;
    const daily = await h.sync();
    assert.equal(daily.fullSync, true, "a day after the last full read");
    assert.equal(h.rows().has(old), false, "the full read's sweep removed it");
  }));

Deno.test("an unreadable cursor restarts a full read; a valid one continues incrementally", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    await addPage(emu, ws, "Only", slot(DAY));
    const h = syncHarness(emu, ws);
    await h.sync();
    const state = h.store.state(h.target);
    state.cursor = "not-a-notion-cursor";
    assert.equal((await h.sync()).fullSync, true);
    state.cursor = encodeCursor({ edited: null, full: new Date().toISOString() });
    const incremental = await h.sync();
    assert.equal(incremental.fullSync, false);
    assert.equal(incremental.upserted, 0);
  }));

Deno.test("a large data source is read page by page even when Notion returns fewer than asked", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    await control(emu, "/seed", {
      data_source_id: ws.ds,
      count: 250,
      from: at(Date.now() + HOUR),
      spacing_minutes: 90,
      duration_minutes: 45,
    });
    await control(emu, "/config", { pageSizeCap: 40 });
    const h = syncHarness(emu, ws);
    const first = await h.sync();
    assert.equal(first.inserted, 250);
    assert.equal(first.apiRequests, Math.ceil(250 / 40));
    assert.equal(first.pages, Math.ceil(250 / 40) + 1);
  }));
