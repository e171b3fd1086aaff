// Notion's write-back writer against the emulator: a block becomes one page (title, date, the
// Notes marker) that the inbound mapping recognises as ours; a create whose answer was lost is
// adopted on retry, never duplicated; a move patches the page; a page a person changed meanwhile
// is handed to the queue's SQL to decide; a removed block's page goes to the trash.
import assert from "node:assert/strict";
import type { SupabaseClient } from "@supabase/supabase-js";
import { parseConfig } from "../../../../supabase/functions/_shared/config.ts";
import { mapPage } from "../../../../supabase/functions/_shared/providers/notion/mapping.ts";
import type { NotionClient } from "../../../../supabase/functions/_shared/providers/notion/client.ts";
import { notionWriter } from "../../../../supabase/functions/_shared/providers/notion/writer.ts";
import { ProviderApiError } from "../../../../supabase/functions/_shared/net/provider_error.ts";
import type {
  OutboundItem,
  WriteBackLink,
  WrittenBlock,
} from "../../../../supabase/functions/_shared/outbound/types.ts";
import type { ConnectionRecord } from "../../../../supabase/functions/_shared/sync/types.ts";
import {
  control,
  editPage,
  type Emulator,
  notionClient,
  withEmulator,
  type Workspace,
  workspace,
} from "./_emulator.ts";

const config = parseConfig({
  SUPABASE_URL: "http://localhost:54321",
  SUPABASE_ANON_KEY: "anon",
  SUPABASE_SERVICE_ROLE_KEY: "service",
  TOKEN_ENCRYPTION_KEY: "bG9jYWwtc3RhY2stb25seS1kby1ub3QtZGVwbG95ISE=",
});

/** The queue's SQL as the writer sees it: records what it was asked to decide. */
function fakeDb(answer: "provider" | "app" = "provider") {
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  const db = {
    rpc(name: string, args: Record<string, unknown>) {
      calls.push({ name, args });
      return Promise.resolve({ data: answer, error: null });
    },
  } as unknown as SupabaseClient;
  return { db, calls };
}

function writerFor(ws: Workspace, client: NotionClient, db: SupabaseClient) {
  const connection: ConnectionRecord = {
    id: "aaaaaaaa-0000-0000-0000-000000000001",
    user_id: "11111111-1111-1111-1111-111111111111",
    provider: "notion",
    external_account_id: ws.bot,
    settings: {
      data_source_id: ws.ds,
      date_property: "Date",
      date_property_id: null,
      bot_id: ws.bot,
      time_zone: "UTC",
      write_back: true,
    },
    refresh_token_encrypted: null,
    access_token_encrypted: null,
    access_token_expires_at: null,
  };
  return notionWriter(
    {
      db,
      config,
      clock: { now: () => Date.now(), monotonic: () => performance.now() },
      syncTarget: () => Promise.resolve(),
    },
    connection,
    client,
  );
}

function item(
  ws: Workspace,
  starts: string,
  ends: string,
  link: WriteBackLink | null = null,
  operation: "upsert_block" | "delete_block" = "upsert_block",
): OutboundItem {
  return {
    id: 1,
    claim: "c",
    user_id: "11111111-1111-1111-1111-111111111111",
    connection_id: "aaaaaaaa-0000-0000-0000-000000000001",
    provider: "notion",
    operation,
    target_calendar: ws.ds,
    target_key: "5e551011-0000-0000-0000-000000000001:0",
    desired: {
      title: "Deep work",
      starts_at: starts,
      ends_at: ends,
      changed_at: new Date().toISOString(),
    },
    credential: null,
    attempts: 0,
    connection: null,
    link,
  };
}

function linkOf(written: WrittenBlock): WriteBackLink {
  return {
    calendar_id: written.calendar_id,
    block_key: "5e551011-0000-0000-0000-000000000001:0",
    external_id: written.external_id,
    id_version: written.id_version,
    etag: written.etag,
    written_title: written.title,
    written_starts_at: written.starts_at,
    written_ends_at: written.ends_at,
    status: "live",
  };
}

async function pagesOf(emu: Emulator, ws: Workspace) {
  const { pages } = await control<{ pages: { id: string; in_trash: boolean }[] }>(
    emu,
    `/data_sources/${ws.ds}/pages`,
  );
  return pages.filter((page) => !page.in_trash);
}

Deno.test("a block becomes one page the inbound mapping knows as ours (never busy)", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token);
    const writer = writerFor(ws, client, fakeDb().db);
    const outcome = await writer.apply(
      item(ws, "2030-01-07T09:00:00.000Z", "2030-01-07T10:30:00.000Z"),
    );
    assert.equal(outcome.kind, "done");
    const written = (outcome as { link: WrittenBlock }).link;
    assert.equal(written.starts_at, "2030-01-07T09:00:00.000Z");
    assert.equal(written.ends_at, "2030-01-07T10:30:00.000Z");
    assert.equal(written.title, "Deep work");

    const page = await client.retrievePage(written.external_id);
    const mapped = mapPage(page, {
      dateProperty: { id: null, name: "Date" },
      timeZone: "UTC",
      botId: ws.bot,
    });
    assert.equal(mapped.kind, "item");
    if (mapped.kind !== "item") return;
    assert.equal(mapped.item.app_tag, "5e551011-0000-0000-0000-000000000001:0");
    assert.equal(mapped.item.is_busy, false, "our own block is not busy time for its user");
    // A page a person made is busy as ever.
    const personal = mapPage({ ...page, created_by: { object: "user", id: "someone-else" } }, {
      dateProperty: { id: null, name: "Date" },
      timeZone: "UTC",
      botId: ws.bot,
    });
    assert.equal(personal.kind === "item" && personal.item.is_busy, true);
  }));

Deno.test("a create whose answer was lost is adopted on retry: one page, never two", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token);
    // The page is made, then the answer is lost on the way back.
    const losing = new Proxy(client, {
      get(target, property) {
        if (property === "createPage") {
          return async (...args: Parameters<NotionClient["createPage"]>) => {
            await target.createPage(...args);
            throw new ProviderApiError({
              provider: "notion",
              kind: "network",
              status: null,
              message: "connection reset",
            });
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const block = item(ws, "2030-01-07T09:00:00.000Z", "2030-01-07T10:00:00.000Z");
    await assert.rejects(
      () => writerFor(ws, losing, fakeDb().db).apply(block),
      (error) => error instanceof ProviderApiError && error.kind === "network",
    );
    assert.equal((await pagesOf(emu, ws)).length, 1);

    const retried = await writerFor(ws, client, fakeDb().db).apply(block);
    assert.equal(retried.kind, "done");
    assert.equal(
      (retried as { note?: string }).note,
      "adopted the page an earlier attempt created",
    );
    assert.equal((await pagesOf(emu, ws)).length, 1, "no duplicate page");
  }));

Deno.test("a moved block patches its page; a removed block's page goes to the trash", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token);
    const { db, calls } = fakeDb();
    const writer = writerFor(ws, client, db);
    const first = await writer.apply(
      item(ws, "2030-01-07T09:00:00.000Z", "2030-01-07T10:00:00.000Z"),
    );
    const link = linkOf((first as { link: WrittenBlock }).link);
    const moved = await writer.apply(
      item(ws, "2030-01-07T14:00:00.000Z", "2030-01-07T15:00:00.000Z", link),
    );
    assert.equal(moved.kind, "done");
    assert.equal((moved as { link: WrittenBlock }).link.external_id, link.external_id);
    assert.equal((moved as { link: WrittenBlock }).link.starts_at, "2030-01-07T14:00:00.000Z");
    assert.equal(calls.length, 0, "an untouched page needs no decision");
    assert.equal((await pagesOf(emu, ws)).length, 1);

    const movedLink = linkOf((moved as { link: WrittenBlock }).link);
    const removed = await writer.apply(item(ws, "", "", movedLink, "delete_block"));
    assert.equal(removed.kind, "done");
    assert.equal((await pagesOf(emu, ws)).length, 0, "the page is in the trash");
  }));

Deno.test("a page a person changed meanwhile goes to the queue's SQL; the later change wins", () =>
  withEmulator(async (emu) => {
    const ws = await workspace(emu);
    const client = notionClient(emu, ws.token);
    const first = await writerFor(ws, client, fakeDb().db).apply(
      item(ws, "2030-01-07T09:00:00.000Z", "2030-01-07T10:00:00.000Z"),
    );
    const link = linkOf((first as { link: WrittenBlock }).link);
    // A person re-dates our page in Notion.
    await editPage(emu, link.external_id, {
      properties: { Date: { start: "2030-01-07T16:00:00.000Z", end: "2030-01-07T17:00:00.000Z" } },
    });

    const personWins = fakeDb("provider");
    const superseded = await writerFor(ws, client, personWins.db).apply(
      item(ws, "2030-01-07T11:00:00.000Z", "2030-01-07T12:00:00.000Z", link),
    );
    assert.equal(superseded.kind, "done");
    assert.equal(personWins.calls[0].name, "write_back_provider_changed");
    assert.equal(personWins.calls[0].args.p_starts_at, "2030-01-07T16:00:00.000Z");
    const page = await client.retrievePage(link.external_id);
    assert.match(
      JSON.stringify(page.properties.Date),
      /2030-01-07T16:00/,
      "the person's time stays",
    );

    const appWins = fakeDb("app");
    const rewritten = await writerFor(ws, client, appWins.db).apply(
      item(ws, "2030-01-07T11:00:00.000Z", "2030-01-07T12:00:00.000Z", link),
    );
    assert.equal((rewritten as { link: WrittenBlock }).link.starts_at, "2030-01-07T11:00:00.000Z");
  }));
