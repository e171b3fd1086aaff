// A Notion page as a mirror item: all-day dates at local midnight in the connection's zone
// (Notion's end date inclusive), datetimes at their offset, points kept but not busy, undated
// and trashed pages removed, the title as summary, the property found by id after a rename, and
// an etag that changes exactly when what the mirror keeps changes.
import assert from "node:assert/strict";
import type { NotionPage } from "../../../../supabase/functions/_shared/providers/notion/client.ts";
import {
  dateInterval,
  mapPage,
  normalizeNotionId,
} from "../../../../supabase/functions/_shared/providers/notion/mapping.ts";
import type { MirrorItem } from "../../../../supabase/functions/_shared/sync/types.ts";

const PAGE_ID = "1f2e3d4c5b6a47988776655443322110";

function page(
  date: { start: string; end?: string | null; time_zone?: string | null } | null,
  extra: Partial<NotionPage> = {},
): NotionPage {
  return {
    object: "page",
    id: PAGE_ID,
    created_time: "2026-12-01T08:00:00.000Z",
    last_edited_time: "2026-12-01T08:03:00.000Z",
    last_edited_by: { object: "user", id: "bot-0001" },
    in_trash: false,
    url: "https://www.notion.so/Review-1f2e3d4c5b6a47988776655443322110",
    properties: {
      Title: {
        id: "title",
        type: "title",
        title: [{ plain_text: "Quarterly " }, { plain_text: "review" }],
      },
      When: {
        id: "%3ADt",
        type: "date",
        date: date
          ? { start: date.start, end: date.end ?? null, time_zone: date.time_zone ?? null }
          : null,
      },
    },
    ...extra,
  };
}

const context = (timeZone = "Europe/Berlin") => ({
  dateProperty: { id: "%3ADt", name: "When" },
  timeZone,
});

function item(outcome: ReturnType<typeof mapPage>): MirrorItem {
  assert.equal(outcome.kind, "item", JSON.stringify(outcome));
  return (outcome as { item: MirrorItem }).item;
}

Deno.test("an all-day page starts at local midnight in the connection's zone and lasts the whole day", () => {
  const berlin = item(mapPage(page({ start: "2026-12-03" }), context("Europe/Berlin")));
  assert.equal(berlin.starts_at, "2026-12-02T23:00:00.000Z");
  assert.equal(berlin.ends_at, "2026-12-03T23:00:00.000Z");
  assert.equal(berlin.all_day, true);
  assert.equal(berlin.is_busy, true);
  const newYork = item(mapPage(page({ start: "2026-12-03" }), context("America/New_York")));
  assert.equal(newYork.starts_at, "2026-12-03T05:00:00.000Z", "not UTC midnight");
});

Deno.test("an all-day range includes its end date, across a DST change", () => {
  const range = dateInterval(
    { start: "2026-03-27", end: "2026-03-30", time_zone: null },
    "Europe/Berlin",
  );
  assert.equal(range.starts_at, "2026-03-26T23:00:00.000Z");
  assert.equal(range.ends_at, "2026-03-30T22:00:00.000Z", "local midnight after the 30th (CEST)");
  assert.equal(range.all_day, true);
});

Deno.test("datetimes keep their offset; one without offset is read in its own zone, else the connection's", () => {
  const offset = dateInterval(
    {
      start: "2026-12-01T09:00:00.000+01:00",
      end: "2026-12-01T10:30:00.000+01:00",
      time_zone: null,
    },
    "America/New_York",
  );
  assert.deepEqual(offset, {
    starts_at: "2026-12-01T08:00:00.000Z",
    ends_at: "2026-12-01T09:30:00.000Z",
    all_day: false,
  });
  const ownZone = dateInterval(
    { start: "2026-12-01T09:00:00", end: null, time_zone: "Asia/Tokyo" },
    "Europe/Berlin",
  );
  assert.equal(ownZone.starts_at, "2026-12-01T00:00:00.000Z");
  const connectionZone = dateInterval(
    { start: "2026-12-01T09:00:00", end: "2026-12-01T10:00:00", time_zone: null },
    "Europe/Berlin",
  );
  assert.equal(connectionZone.starts_at, "2026-12-01T08:00:00.000Z");
});

Deno.test("a datetime without an end is a point: kept in the mirror but not busy", () => {
  const point = item(mapPage(page({ start: "2026-12-01T09:00:00.000+00:00" }), context()));
  assert.equal(point.starts_at, point.ends_at);
  assert.equal(point.is_busy, false);
  assert.equal(point.all_day, false);
});

Deno.test("an undated page and a trashed one leave the mirror", () => {
  const id = normalizeNotionId(PAGE_ID);
  assert.deepEqual(mapPage(page(null), context()), { kind: "removed", id, reason: "undated" });
  assert.deepEqual(
    mapPage(page({ start: "2026-12-03" }, { in_trash: true }), context()),
    { kind: "removed", id, reason: "trashed" },
  );
  assert.deepEqual(
    mapPage(page({ start: "2026-12-03" }, { in_trash: undefined, archived: true }), context()),
    { kind: "removed", id, reason: "trashed" },
    "older versions say archived",
  );
  const wrongType = page(null);
  wrongType.properties.When = { id: "%3ADt", type: "rich_text", rich_text: [] };
  assert.equal(mapPage(wrongType, context()).kind, "removed");
});

Deno.test("title, edit time, URL and the last editor are kept; the property is found by id after a rename", () => {
  const renamed = page({ start: "2026-12-01T09:00:00.000Z", end: "2026-12-01T10:00:00.000Z" });
  renamed.properties = { Title: renamed.properties.Title, "Due on": renamed.properties.When };
  const mapped = item(mapPage(renamed, context()));
  assert.equal(mapped.external_id, "1f2e3d4c-5b6a-4798-8776-655443322110");
  assert.equal(mapped.summary, "Quarterly review");
  assert.equal(mapped.external_updated_at, "2026-12-01T08:03:00.000Z");
  assert.equal(mapped.details.url, renamed.url);
  assert.equal(mapped.details.last_edited_by, "bot-0001");
  assert.equal(mapped.app_tag, null);
  const untitled = page({ start: "2026-12-01" });
  untitled.properties.Title = { id: "title", type: "title", title: [] };
  assert.equal(item(mapPage(untitled, context())).summary, null);
});

Deno.test("the etag changes with what the mirror keeps, and only then", () => {
  const base = item(mapPage(page({ start: "2026-12-03" }), context()));
  const again = item(mapPage(page({ start: "2026-12-03" }), context()));
  assert.equal(base.etag, again.etag, "the same content read twice");
  const sameMinuteEdit = item(
    mapPage(
      page({ start: "2026-12-04" }, { last_edited_time: "2026-12-01T08:03:00.000Z" }),
      context(),
    ),
  );
  assert.notEqual(sameMinuteEdit.etag, base.etag, "a second edit in the same minute is new");
  const otherZone = item(mapPage(page({ start: "2026-12-03" }), context("UTC")));
  assert.notEqual(otherZone.etag, base.etag);
  const edited = page({ start: "2026-12-03" });
  edited.properties.Title = { id: "title", type: "title", title: [{ plain_text: "Renamed" }] };
  assert.notEqual(item(mapPage(edited, context())).etag, base.etag);
});

Deno.test("Notion ids are compared in one form", () => {
  assert.equal(
    normalizeNotionId("1F2E3D4C-5B6A-4798-8776-655443322110"),
    normalizeNotionId("1f2e3d4c5b6a47988776655443322110"),
  );
});
