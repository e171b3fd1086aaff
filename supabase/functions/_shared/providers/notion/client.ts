// Notion API client for ONE connection (one integration bot), with Notion-Version pinned to
// 2025-09-03 (databases have data sources; pages are queried per data source). The calls the
// inbound sync and connect need (retrieve the bot, a database, a data source, query a data
// source, retrieve a page) and the ones write-back will need (create a page, update its
// properties, trash it).
// Invariants:
//   - tokens come from the shared TokenSource (an internal token is a long-lived access token
//     with no refresh token; OAuth refresh tokens are single-use and rotated there, stored
//     before use); every call goes through the shared authorizedCall (one forced refresh on 401,
//     backoff on 429 / 529 / 5xx honouring Retry-After as a floor) and sendJson;
//   - requests are paced: one pacer never lets more than 3 requests start in any one-second
//     window (Notion allows about 3 per second per integration on average), and a 429/529
//     pauses the pacer for its Retry-After, so the requests queued behind it wait as well;
//   - creating a page is not idempotent: it is repeated only after a rate limit (Notion did not
//     process the request), never after a 5xx or a lost connection.
import { type Clock, realSleep, type Sleep, systemClock } from "../../clock.ts";
import { authorizedCall } from "../../net/authorized_call.ts";
import { sendJson } from "../../net/json_api.ts";
import { requestToken, revokeToken, type TokenAnswer } from "../../net/oauth2.ts";
import { ProviderApiError } from "../../net/provider_error.ts";
import type { BackoffOptions } from "../../net/retry.ts";
import type { RefreshGrant, TokenSource } from "../../sync/token_source.ts";
import { NOTION_VERSION, type NotionConfig, notionOAuthClient } from "./config.ts";
import { classifyNotionError } from "./errors.ts";

export interface NotionUserRef {
  object?: "user";
  id: string;
}

export interface NotionRichText {
  plain_text?: string;
  text?: { content: string };
}

/** A date property's value: date-only (`YYYY-MM-DD`) is all-day; datetimes carry an offset. */
export interface NotionDateValue {
  start: string;
  end: string | null;
  time_zone: string | null;
}

export interface NotionPropertyValue {
  id: string;
  type: string;
  [value: string]: unknown;
}

export interface NotionPage {
  object: "page";
  id: string;
  created_time: string;
  last_edited_time: string;
  created_by?: NotionUserRef;
  last_edited_by?: NotionUserRef;
  parent?: { type: string; data_source_id?: string; database_id?: string };
  in_trash?: boolean;
  /** Before 2026-03-11 beside in_trash (older versions: only this). */
  archived?: boolean;
  properties: Record<string, NotionPropertyValue>;
  url?: string;
}

export interface NotionDatabase {
  object: "database";
  id: string;
  title?: NotionRichText[];
  data_sources?: { id: string; name: string }[];
  in_trash?: boolean;
}

export interface NotionPropertySchema {
  id: string;
  name: string;
  type: string;
}

export interface NotionDataSource {
  object: "data_source";
  id: string;
  properties: Record<string, NotionPropertySchema>;
  parent?: { type: string; database_id?: string };
  title?: NotionRichText[];
}

export interface NotionBotUser {
  object: "user";
  id: string;
  type: "bot";
  name?: string | null;
  bot: {
    owner?: Record<string, unknown>;
    workspace_name?: string | null;
    workspace_id?: string | null;
  };
}

export interface NotionQuery {
  filter?: Record<string, unknown>;
  sorts?: Record<string, unknown>[];
  startCursor?: string | null;
  /** 1..100 (Notion's maximum and default is 100). */
  pageSize?: number;
}

export interface NotionQueryPage {
  results: NotionPage[];
  has_more: boolean;
  next_cursor: string | null;
}

/** Spaces request starts `intervalMs` apart (350 ms: at most 3 in any one-second window). */
export class RequestPacer {
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #sleep: Sleep;
  #next = -Infinity;

  constructor(options: { intervalMs?: number; clock?: Clock; sleep?: Sleep } = {}) {
    this.#intervalMs = options.intervalMs ?? 350;
    this.#clock = options.clock ?? systemClock;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** Waits for this request's turn (turns are handed out in call order). */
  async slot(): Promise<void> {
    const now = this.#clock.monotonic();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#intervalMs;
    if (at > now) await this.#sleep(at - now);
  }

  /** Nothing starts before `ms` from now (after a 429 / 529 with Retry-After). */
  pauseFor(ms: number): void {
    this.#next = Math.max(this.#next, this.#clock.monotonic() + ms);
  }
}

/** The token endpoint of the public integration (JSON body, HTTP Basic client auth). */
export function notionTokenEndpoint(config: NotionConfig, clock?: Clock) {
  // Resolved on use: an internal-token connection never needs the OAuth client.
  const endpoint = () => ({
    provider: "notion",
    url: config.oauthTokenUrl,
    ...notionOAuthClient(config),
    encoding: "json" as const,
    clock,
  });
  return {
    /** Single-use: the answer carries a new refresh token, stored before the access token is used. */
    refresh: ((refreshToken) =>
      requestToken(endpoint(), {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
      })) satisfies RefreshGrant,
    exchangeCode: (code: string, redirectUri: string): Promise<TokenAnswer> =>
      requestToken(endpoint(), {
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
      }),
    /** Ends the public integration's grant for this connection (either token ends both). */
    revoke: (token: string): Promise<void> =>
      revokeToken({
        ...endpoint(),
        url: config.oauthRevokeUrl,
        headers: { "Notion-Version": NOTION_VERSION },
      }, token),
  };
}

export interface NotionClientOptions {
  config: NotionConfig;
  tokens: TokenSource;
  clock?: Clock;
  fetch?: typeof fetch;
  backoff?: Omit<BackoffOptions, "shouldRetry">;
  /** Share one pacer between clients of the same integration (default: one of its own). */
  pacer?: RequestPacer;
}

type Method = "GET" | "POST" | "PATCH";

export class NotionClient {
  readonly counters = { requests: 0, pagesFetched: 0, rateLimited: 0 };
  readonly tokens: TokenSource;
  readonly pacer: RequestPacer;
  readonly #options: NotionClientOptions;
  readonly #clock: Clock;

  constructor(options: NotionClientOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.tokens = options.tokens;
    this.pacer = options.pacer ?? new RequestPacer({ clock: this.#clock });
  }

  #call<T>(
    method: Method,
    path: string,
    body?: unknown,
    shouldRetry?: (error: unknown) => boolean,
  ): Promise<T> {
    return authorizedCall(this.tokens, async (accessToken) => {
      await this.pacer.slot();
      this.counters.requests++;
      try {
        const response = await sendJson<T>({
          provider: "notion",
          baseUrl: this.#options.config.apiUrl,
          url: path,
          method,
          body,
          headers: { "notion-version": NOTION_VERSION },
          accessToken,
          classify: (status, data, headers) =>
            classifyNotionError(status, data, headers, this.#clock.now()),
          fetch: this.#options.fetch,
        });
        return response.data;
      } catch (error) {
        if (error instanceof ProviderApiError && error.kind === "rate_limited") {
          this.counters.rateLimited++;
          this.pacer.pauseFor(error.retryAfterMs ?? 1000);
        }
        throw error;
      }
    }, { backoff: this.#options.backoff, shouldRetry });
  }

  /** The integration's bot user (its id, workspace name and id). */
  retrieveBotUser(): Promise<NotionBotUser> {
    return this.#call("GET", "v1/users/me");
  }

  retrieveDatabase(databaseId: string): Promise<NotionDatabase> {
    return this.#call("GET", `v1/databases/${encodeURIComponent(databaseId)}`);
  }

  retrieveDataSource(dataSourceId: string): Promise<NotionDataSource> {
    return this.#call("GET", `v1/data_sources/${encodeURIComponent(dataSourceId)}`);
  }

  /** One page of a data source's rows (trashed pages are never returned). */
  async queryDataSource(dataSourceId: string, query: NotionQuery = {}): Promise<NotionQueryPage> {
    const page = await this.#call<NotionQueryPage>(
      "POST",
      `v1/data_sources/${encodeURIComponent(dataSourceId)}/query`,
      {
        ...(query.filter ? { filter: query.filter } : {}),
        ...(query.sorts ? { sorts: query.sorts } : {}),
        ...(query.startCursor ? { start_cursor: query.startCursor } : {}),
        page_size: Math.max(1, Math.min(100, query.pageSize ?? 100)),
      },
    );
    this.counters.pagesFetched += page.results.length;
    return page;
  }

  /** Every row matching the query, page by page (Notion may return fewer than asked). */
  async *queryAll(dataSourceId: string, query: NotionQuery = {}): AsyncGenerator<NotionPage[]> {
    let startCursor: string | null = null;
    do {
      const page: NotionQueryPage = await this.queryDataSource(dataSourceId, {
        ...query,
        startCursor,
      });
      yield page.results;
      startCursor = page.has_more ? page.next_cursor : null;
    } while (startCursor);
  }

  /** A page, trashed ones included (`in_trash: true`). */
  retrievePage(pageId: string): Promise<NotionPage> {
    return this.#call("GET", `v1/pages/${encodeURIComponent(pageId)}`);
  }

  /** A new row of a data source; repeated only after a rate limit (never a duplicate). */
  createPage(
    dataSourceId: string,
    properties: Record<string, unknown>,
  ): Promise<NotionPage> {
    return this.#call(
      "POST",
      "v1/pages",
      { parent: { type: "data_source_id", data_source_id: dataSourceId }, properties },
      (error) => error instanceof ProviderApiError && error.kind === "rate_limited",
    );
  }

  /** Sets properties and/or moves the page to or out of the trash (idempotent). */
  updatePage(
    pageId: string,
    update: { properties?: Record<string, unknown>; inTrash?: boolean },
  ): Promise<NotionPage> {
    return this.#call("PATCH", `v1/pages/${encodeURIComponent(pageId)}`, {
      ...(update.properties ? { properties: update.properties } : {}),
      ...(update.inTrash === undefined ? {} : { in_trash: update.inTrash }),
    });
  }

  trashPage(pageId: string): Promise<NotionPage> {
    return this.updatePage(pageId, { inTrash: true });
  }
}
