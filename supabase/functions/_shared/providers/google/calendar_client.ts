// Google Calendar v3 client for ONE connection.
//
// Requests are built by googleapis-common's `createAPIRequest` (URL templating with path-param
// encoding, `rootUrl` rewriting, repeat-style array query params) and sent through an
// OAuth2Client that only attaches the bearer token. Tokens come from the shared TokenSource
// (sync/token_source.ts) and every call goes through the shared authorizedCall (one forced
// refresh on 401, backoff on transient failures), against an injected clock.

import { createAPIRequest, type MethodOptions } from "googleapis-common";
import type { OAuth2Client } from "google-auth-library";
import { type Clock, systemClock } from "../../clock.ts";
import { authorizedCall } from "../../net/authorized_call.ts";
import { type BackoffOptions, type Sleep } from "../../net/retry.ts";
import { type AccessToken, type TokenGrant, TokenSource } from "../../sync/token_source.ts";
import type { GoogleConfig } from "./config.ts";
import { GoogleApiError, isRetryableError, toGoogleApiError } from "./errors.ts";
import { ProviderApiError } from "../../net/provider_error.ts";
import { createOAuth2Client, GoogleOAuth, type GoogleTransportOptions } from "./oauth.ts";
import type {
  GoogleEvent,
  GoogleEventsPage,
  ListEventsParams,
  WatchChannel,
  WatchChannelRequest,
} from "./types.ts";

/** @deprecated name kept for readers of older code: an access token with its expiry. */
export type CachedAccessToken = AccessToken;

export interface GoogleCalendarClientOptions extends GoogleTransportOptions {
  config: GoogleConfig;
  /** The connection's tokens. When absent, an in-memory source over `refreshToken` is built. */
  tokens?: TokenSource;
  refreshToken?: string;
  clock?: Clock;
  /** In-memory mode: consulted before refreshing (e.g. a cache). */
  getCachedAccessToken?: () =>
    | AccessToken
    | null
    | undefined
    | Promise<AccessToken | null | undefined>;
  /**
   * In-memory mode: called after every successful refresh, before the token is used.
   * `grant.refreshToken` is set only if Google returned a different refresh token.
   */
  onAccessToken?: (grant: TokenGrant) => void | Promise<void>;
  sleep?: Sleep;
  random?: () => number;
  /** Backoff tuning for every call (sleep/random come from the fields above). */
  backoff?: Pick<BackoffOptions, "maxAttempts" | "baseDelayMs" | "maxDelayMs" | "onRetry">;
  /** Refresh this long before `expiresAt`. Default 60 000 ms. */
  refreshMarginMs?: number;
}

/** Plain counters, so callers can log API usage per run. */
export interface GoogleApiCounters {
  /** HTTP requests sent to the Calendar API, including retries. */
  requests: number;
  /** Requests per client method (listEvents, watchEvents, ...). */
  byOperation: Record<string, number>;
  /** Calls to the token endpoint. */
  tokenRefreshes: number;
  /** Backoff retries (rate limits, 5xx, network). */
  retries: number;
  /** Forced refresh + retry after a 401. */
  unauthorizedRetries: number;
}

/** A token source for a Google refresh token (connect's probe, tests, scripts). */
export function googleTokenSource(
  config: GoogleConfig,
  options: Omit<GoogleCalendarClientOptions, "config" | "tokens"> & { refreshToken: string },
): TokenSource {
  const oauth = new GoogleOAuth({ config, clock: options.clock, fetch: options.fetch });
  return new TokenSource({
    grant: (refreshToken) => oauth.refreshAccessToken(refreshToken),
    refreshToken: options.refreshToken,
    clock: options.clock,
    marginMs: options.refreshMarginMs,
    getCached: options.getCachedAccessToken,
    onGrant: options.onAccessToken,
  });
}

type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

interface RequestSpec {
  op: string;
  method: HttpMethod;
  /** Path under `calendar/v3/`, an RFC 6570 template such as `calendars/{calendarId}/events`. */
  path: string;
  pathParams?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
  /** Override of the default retry predicate (for non-idempotent calls). */
  shouldRetry?: (error: unknown) => boolean;
  /** Sent as If-Match (optimistic concurrency on writes). */
  ifMatch?: string;
}

/** Only rejections Google guarantees were not applied (rate limits) are safe to repeat. */
const onlyRateLimits = (e: unknown) => e instanceof GoogleApiError && e.kind === "rate_limited";

/** Google's documented default channel TTL (params.ttl), used only if a response lacks one. */
const DEFAULT_CHANNEL_TTL_S = 604_800;

export function parseExpiration(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return Number(value.trim());
  return null;
}

function malformed(op: string, what: string, body: unknown): GoogleApiError {
  return new GoogleApiError({
    kind: "permanent",
    status: 200,
    reason: "malformedResponse",
    message: `Google ${op}: ${what}`,
    body,
  });
}

function cleanQuery(query: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

export class GoogleCalendarClient {
  readonly counters: GoogleApiCounters = {
    requests: 0,
    byOperation: {},
    tokenRefreshes: 0,
    retries: 0,
    unauthorizedRetries: 0,
  };

  readonly tokens: TokenSource;
  readonly #root: string;
  readonly #auth: OAuth2Client;
  readonly #clock: Clock;
  readonly #options: GoogleCalendarClientOptions;
  readonly #refreshesBefore: number;

  constructor(options: GoogleCalendarClientOptions) {
    this.#options = options;
    this.#root = options.config.calendarApiUrl.replace(/\/+$/, "") + "/";
    this.#clock = options.clock ?? systemClock;
    this.#auth = createOAuth2Client(options.config, options);
    if (options.tokens) {
      this.tokens = options.tokens;
    } else {
      if (options.refreshToken === undefined) {
        throw new Error("GoogleCalendarClient needs `tokens` or a `refreshToken`");
      }
      this.tokens = googleTokenSource(options.config, {
        ...options,
        refreshToken: options.refreshToken,
      });
    }
    this.#refreshesBefore = this.tokens.refreshes;
    Object.defineProperty(this.counters, "tokenRefreshes", {
      enumerable: true,
      get: () => this.tokens.refreshes - this.#refreshesBefore,
    });
  }

  /** The refresh token currently in use (in-memory mode; changes only if Google rotates it). */
  get refreshToken(): string | undefined {
    return this.tokens.refreshToken;
  }

  async #send<T>(spec: RequestSpec, accessToken: string): Promise<{ status: number; data: T }> {
    this.counters.requests++;
    this.counters.byOperation[spec.op] = (this.counters.byOperation[spec.op] ?? 0) + 1;
    // Credentials without refresh_token/expiry_date: the OAuth2Client just adds the header and
    // never refreshes on its own (it would otherwise also refresh on 403 rate limits).
    this.#auth.setCredentials({ access_token: accessToken, token_type: "Bearer" });
    const pathParams = spec.pathParams ?? {};
    const params: Record<string, unknown> = {
      ...cleanQuery(spec.query),
      ...pathParams,
      auth: this.#auth,
    };
    if (spec.body !== undefined) params.requestBody = spec.body;
    const headers: Record<string, string> = {};
    if (spec.ifMatch) headers["If-Match"] = spec.ifMatch;
    try {
      const res = await createAPIRequest<T>({
        // Cast: depending on which lib provides RequestInit (Deno's vs @types/node's undici
        // types) `method` may not be visible on GaxiosOptions, though gaxios reads it.
        options: {
          url: `${this.#root}calendar/v3/${spec.path}`,
          method: spec.method,
          headers,
          retry: false, // retries are ours (withBackoff), not gaxios'
          responseType: "json", // JSON when parseable, text otherwise (never a Blob)
        } as MethodOptions,
        params,
        requiredParams: Object.keys(pathParams),
        pathParams: Object.keys(pathParams),
        context: { _options: { rootUrl: this.#root } },
      });
      return { status: res.status, data: res.data };
    } catch (e) {
      throw toGoogleApiError(e, this.#clock.now());
    }
  }

  /** One logical call: token, send, one forced refresh + retry on 401, backoff. */
  #request<T>(spec: RequestSpec): Promise<{ status: number; data: T }> {
    return authorizedCall(this.tokens, (token) => this.#send<T>(spec, token), {
      shouldRetry: spec.shouldRetry ?? isRetryableError,
      onUnauthorizedRetry: () => this.counters.unauthorizedRetries++,
      backoff: {
        ...this.#options.backoff,
        sleep: this.#options.sleep,
        random: this.#options.random,
        onRetry: (info) => {
          this.counters.retries++;
          this.#options.backoff?.onRetry?.(info);
        },
      },
    });
  }

  /** events.list, one page, returned as Google sent it (items defaulted to []). */
  async listEvents(calendarId: string, params: ListEventsParams = {}): Promise<GoogleEventsPage> {
    const { data } = await this.#request<unknown>({
      op: "listEvents",
      method: "GET",
      path: "calendars/{calendarId}/events",
      pathParams: { calendarId },
      query: { ...params },
    });
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw malformed("events.list", "response is not a JSON object", data);
    }
    const page = data as Record<string, unknown>;
    const items = page.items ?? [];
    if (!Array.isArray(items)) throw malformed("events.list", "items is not an array", data);
    for (const key of ["nextPageToken", "nextSyncToken", "timeZone"]) {
      if (page[key] !== undefined && typeof page[key] !== "string") {
        throw malformed("events.list", `${key} is not a string`, data);
      }
    }
    return { ...page, items: items as GoogleEvent[] } as GoogleEventsPage;
  }

  /**
   * calendars.get: resolves an alias such as `primary` to the calendar's stable id (the account's
   * email for a primary calendar) and reads its time zone.
   */
  async getCalendar(calendarId: string): Promise<{ id: string; timeZone: string | null }> {
    const { data } = await this.#request<unknown>({
      op: "getCalendar",
      method: "GET",
      path: "calendars/{calendarId}",
      pathParams: { calendarId },
    });
    const calendar = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    if (typeof calendar.id !== "string" || !calendar.id) {
      throw malformed("calendars.get", "id missing", data);
    }
    return {
      id: calendar.id,
      timeZone: typeof calendar.timeZone === "string" ? calendar.timeZone : null,
    };
  }

  /** events.watch: opens a push channel. Renew from the returned `expiration`, never a constant. */
  async watchEvents(calendarId: string, request: WatchChannelRequest): Promise<WatchChannel> {
    const body: Record<string, unknown> = {
      id: request.id,
      type: "web_hook",
      address: request.address,
    };
    if (request.token !== undefined) body.token = request.token;
    if (request.ttlSeconds !== undefined) {
      body.params = { ttl: String(Math.trunc(request.ttlSeconds)) };
    }
    const requestedAt = this.#clock.now();
    const { data } = await this.#request<unknown>({
      op: "watchEvents",
      method: "POST",
      path: "calendars/{calendarId}/events/watch",
      pathParams: { calendarId },
      body,
    });
    const channel = (data && typeof data === "object" ? data : {}) as Record<string, unknown>;
    if (typeof channel.resourceId !== "string" || !channel.resourceId) {
      throw malformed("events.watch", "resourceId missing", data);
    }
    return {
      id: typeof channel.id === "string" ? channel.id : request.id,
      resourceId: channel.resourceId,
      resourceUri: typeof channel.resourceUri === "string" ? channel.resourceUri : null,
      // Discovery types it as an int64 string; the guide prints a number. Accept both. If absent,
      // assume the requested/default TTL so the caller still schedules a renewal.
      expiration: parseExpiration(channel.expiration) ??
        requestedAt + (request.ttlSeconds ?? DEFAULT_CHANNEL_TTL_S) * 1000,
    };
  }

  /** channels.stop. Any 2xx is success; 404 means already stopped/expired. */
  async stopChannel(id: string, resourceId: string): Promise<{ alreadyStopped: boolean }> {
    try {
      await this.#request<unknown>({
        op: "stopChannel",
        method: "POST",
        path: "channels/stop",
        body: { id, resourceId },
      });
      return { alreadyStopped: false };
    } catch (e) {
      if (e instanceof GoogleApiError && e.kind === "not_found") return { alreadyStopped: true };
      throw e;
    }
  }

  /**
   * events.insert. POST is not idempotent: unless `event.id` is set (a retry then cannot create
   * a duplicate — Google answers 409 duplicate), only rate-limit rejections are retried.
   */
  async insertEvent(
    calendarId: string,
    event: Partial<GoogleEvent>,
    params: { sendUpdates?: "all" | "externalOnly" | "none" } = {},
  ): Promise<GoogleEvent> {
    const { data } = await this.#request<GoogleEvent>({
      op: "insertEvent",
      method: "POST",
      path: "calendars/{calendarId}/events",
      pathParams: { calendarId },
      query: { ...params },
      body: event,
      shouldRetry: event.id ? isRetryableError : onlyRateLimits,
    });
    return data;
  }

  /**
   * events.patch (idempotent: same patch twice gives the same result). With `ifMatch`, Google
   * applies it only to that version (412 precondition_failed otherwise).
   */
  async patchEvent(
    calendarId: string,
    eventId: string,
    patch: Partial<GoogleEvent>,
    params: { sendUpdates?: "all" | "externalOnly" | "none"; ifMatch?: string } = {},
  ): Promise<GoogleEvent> {
    const { ifMatch, ...query } = params;
    const { data } = await this.#request<GoogleEvent>({
      op: "patchEvent",
      method: "PATCH",
      path: "calendars/{calendarId}/events/{eventId}",
      pathParams: { calendarId, eventId },
      query,
      body: patch,
      ifMatch,
    });
    return data;
  }

  /** events.get (cancelled events are returned too, with status "cancelled"). */
  async getEvent(calendarId: string, eventId: string): Promise<GoogleEvent> {
    const { data } = await this.#request<GoogleEvent>({
      op: "getEvent",
      method: "GET",
      path: "calendars/{calendarId}/events/{eventId}",
      pathParams: { calendarId, eventId },
    });
    return data;
  }

  /** calendars.insert: a secondary calendar owned by the account. Not retried except on rate limits. */
  async insertCalendar(summary: string, timeZone?: string): Promise<{ id: string }> {
    const { data } = await this.#request<{ id: string }>({
      op: "insertCalendar",
      method: "POST",
      path: "calendars",
      body: { summary, ...(timeZone ? { timeZone } : {}) },
      shouldRetry: onlyRateLimits,
    });
    return data;
  }

  /** calendars.delete (a secondary calendar). 404/410: already gone. */
  async deleteCalendar(calendarId: string): Promise<void> {
    try {
      await this.#request<unknown>({
        op: "deleteCalendar",
        method: "DELETE",
        path: "calendars/{calendarId}",
        pathParams: { calendarId },
      });
    } catch (e) {
      if (e instanceof ProviderApiError && (e.kind === "not_found" || e.kind === "gone")) return;
      throw e;
    }
  }

  /** events.delete. 410 `deleted` (already deleted, e.g. a retried delete) counts as success. */
  async deleteEvent(
    calendarId: string,
    eventId: string,
    params: { sendUpdates?: "all" | "externalOnly" | "none" } = {},
  ): Promise<{ alreadyDeleted: boolean }> {
    try {
      await this.#request<unknown>({
        op: "deleteEvent",
        method: "DELETE",
        path: "calendars/{calendarId}/events/{eventId}",
        pathParams: { calendarId, eventId },
        query: { ...params },
      });
      return { alreadyDeleted: false };
    } catch (e) {
      if (e instanceof GoogleApiError && e.kind === "gone") return { alreadyDeleted: true };
      throw e;
    }
  }
}
