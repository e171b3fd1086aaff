// Calendly API v2 client for ONE connection: the calls the sync and the subscription need.
// Tokens come from the shared TokenSource (single-use refresh tokens are rotated safely there);
// every call goes through the shared authorizedCall (one forced refresh on 401, backoff on 429
// honouring X-RateLimit-Reset, and on 5xx).
import { type Clock, systemClock } from "../../clock.ts";
import { authorizedCall } from "../../net/authorized_call.ts";
import { sendJson } from "../../net/json_api.ts";
import { requestToken, revokeToken, type TokenAnswer } from "../../net/oauth2.ts";
import type { BackoffOptions } from "../../net/retry.ts";
import type { RefreshGrant, TokenSource } from "../../sync/token_source.ts";
import type { CalendlyConfig } from "./config.ts";
import { classifyCalendlyError } from "./errors.ts";

export interface CalendlyUser {
  uri: string;
  name: string;
  email: string;
  timezone: string | null;
  current_organization: string;
}

export interface CalendlyEvent {
  uri: string;
  name: string | null;
  status: "active" | "canceled";
  start_time: string;
  end_time: string;
  created_at: string;
  updated_at: string;
  event_type?: string | null;
  location?: Record<string, unknown> | null;
  invitees_counter?: { total: number; active: number; limit: number };
  event_memberships?: { user: string; user_email?: string; user_name?: string }[];
  cancellation?: { canceled_by?: string; reason?: string | null; created_at?: string } | null;
}

export interface CalendlySubscription {
  uri: string;
  callback_url: string;
  state: "active" | "disabled";
  events: string[];
  scope: string;
  organization: string;
  user: string | null;
  retry_started_at: string | null;
}

interface Collection<T> {
  collection: T[];
  pagination: { next_page_token: string | null };
}

/** Calendly's OAuth endpoints: refresh (single-use: the answer carries a new one), code, revoke. */
export function calendlyTokenEndpoint(config: CalendlyConfig, clock?: Clock) {
  const endpoint = {
    provider: "calendly",
    url: config.oauthTokenUrl,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    encoding: "form" as const,
    clock,
  };
  return {
    refresh: ((refreshToken) =>
      requestToken(endpoint, {
        grant_type: "refresh_token",
        refresh_token: refreshToken,
      })) satisfies RefreshGrant,
    exchangeCode: (code: string, redirectUri: string): Promise<TokenAnswer> =>
      requestToken(endpoint, {
        grant_type: "authorization_code",
        code,
        redirect_uri: redirectUri,
      }),
    /** Ends the grant (revoking either token revokes both). */
    revoke: (token: string): Promise<void> =>
      revokeToken({ ...endpoint, url: config.oauthRevokeUrl }, token),
  };
}

export interface CalendlyClientOptions {
  config: CalendlyConfig;
  tokens: TokenSource;
  clock?: Clock;
  fetch?: typeof fetch;
  backoff?: Omit<BackoffOptions, "shouldRetry">;
}

export class CalendlyClient {
  readonly counters = { requests: 0, itemsFetched: 0 };
  readonly tokens: TokenSource;
  readonly #options: CalendlyClientOptions;

  constructor(options: CalendlyClientOptions) {
    this.#options = { ...options, clock: options.clock ?? systemClock };
    this.tokens = options.tokens;
  }

  #call<T>(
    method: "GET" | "POST" | "DELETE",
    url: string,
    extra: { query?: Record<string, string | number | undefined>; body?: unknown } = {},
  ): Promise<T> {
    return authorizedCall(this.#options.tokens, async (accessToken) => {
      this.counters.requests++;
      const response = await sendJson<T>({
        provider: "calendly",
        baseUrl: this.#options.config.apiUrl,
        url,
        method,
        query: extra.query,
        body: extra.body,
        accessToken,
        classify: classifyCalendlyError,
        fetch: this.#options.fetch,
      });
      return response.data;
    }, { backoff: this.#options.backoff });
  }

  async me(): Promise<CalendlyUser> {
    return (await this.#call<{ resource: CalendlyUser }>("GET", "users/me")).resource;
  }

  /** One page of the user's scheduled events (both statuses unless `status`). */
  async listScheduledEvents(params: {
    user: string;
    minStartTime: string;
    maxStartTime: string;
    status?: "active" | "canceled";
    count?: number;
    pageToken?: string | null;
  }): Promise<{ events: CalendlyEvent[]; nextPageToken: string | null }> {
    const page = await this.#call<Collection<CalendlyEvent>>("GET", "scheduled_events", {
      query: {
        user: params.user,
        min_start_time: params.minStartTime,
        max_start_time: params.maxStartTime,
        status: params.status,
        count: params.count ?? 100,
        sort: "start_time:asc",
        page_token: params.pageToken ?? undefined,
      },
    });
    this.counters.itemsFetched += page.collection.length;
    return { events: page.collection, nextPageToken: page.pagination?.next_page_token ?? null };
  }

  async createSubscription(input: {
    url: string;
    organization: string;
    user: string;
    signingKey?: string;
  }): Promise<CalendlySubscription> {
    const created = await this.#call<{ resource: CalendlySubscription }>(
      "POST",
      "webhook_subscriptions",
      {
        body: {
          url: input.url,
          events: ["invitee.created", "invitee.canceled"],
          organization: input.organization,
          user: input.user,
          scope: "user",
          ...(input.signingKey ? { signing_key: input.signingKey } : {}),
        },
      },
    );
    return created.resource;
  }

  async listSubscriptions(organization: string, user: string): Promise<CalendlySubscription[]> {
    const out: CalendlySubscription[] = [];
    let pageToken: string | null = null;
    do {
      const page: Collection<CalendlySubscription> = await this.#call(
        "GET",
        "webhook_subscriptions",
        {
          query: {
            organization,
            user,
            scope: "user",
            count: 100,
            page_token: pageToken ?? undefined,
          },
        },
      );
      out.push(...page.collection);
      pageToken = page.pagination?.next_page_token ?? null;
    } while (pageToken);
    return out;
  }

  async getSubscription(uri: string): Promise<CalendlySubscription> {
    return (await this.#call<{ resource: CalendlySubscription }>("GET", uri)).resource;
  }

  async deleteSubscription(uri: string): Promise<void> {
    await this.#call<unknown>("DELETE", uri);
  }
}
