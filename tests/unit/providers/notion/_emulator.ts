// The Notion emulator in-process for unit tests, a client wired to it the way the bundle wires
// one (shared TokenSource, pinned Notion-Version, a pacer), and the Notion strategy run by the
// sync core's runner over the in-memory store (whose mirror doubles as the strategy's snapshot).
import { callEmulatorControl } from "../../../../devkit/emulator_control.ts";
import { startNotionEmulator } from "../../../emulators/notion/server.ts";
import type { NotionEmulatorOptions } from "../../../emulators/notion/server.ts";
import {
  NotionClient,
  RequestPacer,
} from "../../../../supabase/functions/_shared/providers/notion/client.ts";
import type { NotionConfig } from "../../../../supabase/functions/_shared/providers/notion/config.ts";
import {
  type MirrorRow,
  notionChangeStrategy,
} from "../../../../supabase/functions/_shared/providers/notion/strategy.ts";
import { syncCalendar } from "../../../../supabase/functions/_shared/sync/runner.ts";
import {
  createMemorySyncStore,
  type MemorySyncStore,
} from "../../../../supabase/functions/_shared/sync/store_memory.ts";
import { TokenSource } from "../../../../supabase/functions/_shared/sync/token_source.ts";
import type { Clock } from "../../../../supabase/functions/_shared/clock.ts";
import type { SyncTarget } from "../../../../supabase/functions/_shared/sync/types.ts";

export type Emulator = Awaited<ReturnType<typeof startNotionEmulator>>;

export async function withEmulator(
  fn: (emu: Emulator) => Promise<void>,
  options: NotionEmulatorOptions = {},
) {
  const emu = await startNotionEmulator({
    port: 0,
    useEnv: false,
    retryBaseMs: 5,
    rateLimitPerSecond: 0,
    ...options,
  });
  try {
    await fn(emu);
  } finally {
    await emu.close();
  }
}

export function control<T = Record<string, unknown>>(
  emu: Emulator,
  path: string,
  body?: unknown,
  method?: string,
): Promise<T> {
  return callEmulatorControl<T>("control", emu.url, path, body, method);
}

export function notionConfig(emu: Emulator): NotionConfig {
  return {
    apiUrl: emu.url,
    oauthTokenUrl: `${emu.url}/v1/oauth/token`,
    oauthRevokeUrl: `${emu.url}/v1/oauth/revoke`,
    clientId: "emulator-notion-client-id",
    clientSecret: "emulator-notion-client-secret",
  };
}

export function notionClient(
  emu: Emulator,
  token: string,
  options: { pacer?: RequestPacer; maxAttempts?: number } = {},
): NotionClient {
  return new NotionClient({
    config: notionConfig(emu),
    tokens: new TokenSource({
      grant: () => Promise.reject(new Error("an internal token is never refreshed")),
      initial: { accessToken: token, expiresAt: Date.now() + 86_400_000 },
    }),
    backoff: { baseDelayMs: 1, maxDelayMs: 5_000, maxAttempts: options.maxAttempts ?? 5 },
    pacer: options.pacer ?? new RequestPacer({ intervalMs: 0 }),
  });
}

export interface Workspace {
  token: string;
  bot: string;
  workspaceId: string;
  db: string;
  ds: string;
}

/** An internal integration with one shared database (Title, Date, Notes ...). */
export async function workspace(emu: Emulator): Promise<Workspace> {
  const integration = await control<{ token: string; bot_user_id: string; workspace_id: string }>(
    emu,
    "/integrations",
    { name: "planner" },
  );
  const database = await control<{ database_id: string; data_source_id: string }>(
    emu,
    "/databases",
    { integration: integration.bot_user_id, title: "Tasks" },
  );
  return {
    token: integration.token,
    bot: integration.bot_user_id,
    workspaceId: integration.workspace_id,
    db: database.database_id,
    ds: database.data_source_id,
  };
}

/** A person creates a row; `date` in Notion's shape or null for an undated page. */
export async function addPage(
  emu: Emulator,
  ws: Workspace,
  title: string,
  date: { start: string; end?: string | null; time_zone?: string } | null,
): Promise<string> {
  const page = await control<{ id: string }>(emu, "/pages", {
    data_source_id: ws.ds,
    properties: { title, ...(date ? { date } : {}) },
  });
  return page.id;
}

/** A person edits a row (properties in the control API's simple shape, or trash). */
export function editPage(
  emu: Emulator,
  id: string,
  change: { properties?: Record<string, unknown>; in_trash?: boolean },
) {
  return control(emu, `/pages/${id}`, change, "PATCH");
}

export function clock(emu: Emulator, body: Record<string, unknown>) {
  return control(emu, "/clock", body);
}

const realClock: Clock = { now: () => Date.now(), monotonic: () => performance.now() };

/** The strategy over the runner and an in-memory store, as the adapter wires it. */
export function syncHarness(
  emu: Emulator,
  ws: Workspace,
  options: { timeZone?: string; clock?: Clock; store?: MemorySyncStore } = {},
) {
  const clockNow = options.clock ?? realClock;
  const store = options.store ?? createMemorySyncStore({ provider: "notion" }, clockNow);
  const target: SyncTarget = { connectionId: store.connection.id, calendarId: ws.ds };
  store.state(target).timeZone = options.timeZone ?? "UTC";
  const client = notionClient(emu, ws.token);
  const lines: string[] = [];
  const mirror = (fromMs: number): Promise<MirrorRow[]> =>
    Promise.resolve(
      [...store.state(target).mirror.values()]
        .filter((row) => Date.parse(row.starts_at) >= fromMs)
        .map((row) => ({ external_id: row.external_id, etag: row.etag, starts_at: row.starts_at })),
    );
  const deps = {
    store,
    strategy: () =>
      notionChangeStrategy({
        client,
        dataSourceId: ws.ds,
        dateProperty: { id: null, name: "Date" },
        mirror,
        clock: clockNow,
        log: (line: string) => lines.push(line),
      }),
    clock: clockNow,
    leaseSeconds: 15,
    log: (line: string) => lines.push(line),
  };
  return {
    store,
    target,
    client,
    lines,
    /** One sync, as a webhook or the poll would trigger it. */
    sync() {
      store.mark(target);
      return syncCalendar(deps, target);
    },
    /** The mirror's rows by page id. */
    rows() {
      return store.state(target).mirror;
    },
  };
}
