// Access tokens for one provider connection: the one mechanism every provider uses.
//
// Invariants:
//  - a token is reused until shortly before it expires (`marginMs`), then refreshed once;
//    concurrent callers in this process share one refresh (single flight);
//  - with a durable store (the connection's row), refreshes are also serialised ACROSS
//    processes: only the holder of the row's refresh claim calls the token endpoint, and the new
//    tokens (including a rotated refresh token) are stored BEFORE the new access token is used.
//    That is what makes single-use refresh tokens (Calendly, Notion) safe: two syncs at once
//    never present the same refresh token twice, and a token the provider issued is never lost
//    because a caller crashed after using it;
//  - a token the provider rejected (401) is never reused, whatever its stored expiry says;
//  - `invalid_grant` ends in ReauthRequiredError, and the durable store marks the connection.
// The provider-specific part is only `grant`: one call of its token endpoint.
import { type Clock, realSleep, type Sleep, systemClock } from "../clock.ts";
import { ProviderApiError, ReauthRequiredError } from "../net/provider_error.ts";

export interface AccessToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface TokenGrant extends AccessToken {
  /** Present when the provider rotated the refresh token: it must be stored before use. */
  refreshToken?: string;
  scope?: string | null;
}

/** One call of the provider's token endpoint with a refresh token. */
export type RefreshGrant = (refreshToken: string) => Promise<TokenGrant>;

export type DurableRefreshStart =
  | { state: "fresh"; token: AccessToken }
  | { state: "claimed"; claim: string; refreshToken: string }
  | { state: "busy"; retryInMs: number }
  | { state: "inactive"; status: string };

/** The connection's row, seen by the token source (see sync/credentials.ts). */
export interface DurableTokenStore {
  /** Reads a fresh stored token or takes the refresh claim (rejected: a token the provider refused). */
  begin(rejected: string | null): Promise<DurableRefreshStart>;
  /** Stores the new tokens (encrypted) and releases the claim. */
  finish(claim: string, grant: TokenGrant): Promise<void>;
  abort(claim: string, error: string, needsReauth: boolean): Promise<void>;
}

export interface TokenSourceOptions {
  grant: RefreshGrant;
  /** In-memory mode: the refresh token to use. Ignored when `durable` is set. */
  refreshToken?: string;
  /** A token already known (e.g. decrypted from the claim that started a sync). */
  initial?: AccessToken | null | (() => Promise<AccessToken | null>);
  durable?: DurableTokenStore;
  clock?: Clock;
  sleep?: Sleep;
  /** Refresh this long before `expiresAt`. Default 60 000 ms. */
  marginMs?: number;
  /** In-memory mode: consulted before refreshing (e.g. a cache). */
  getCached?: () => AccessToken | null | undefined | Promise<AccessToken | null | undefined>;
  /** Called after every successful refresh, before the token is used (errors propagate). */
  onGrant?: (grant: TokenGrant) => void | Promise<void>;
  /** How long to wait for another process's refresh before giving up. Default 10 000 ms. */
  busyTimeoutMs?: number;
}

export class TokenSource {
  /** Calls of the token endpoint made by this source. */
  refreshes = 0;
  readonly #options: TokenSourceOptions;
  readonly #clock: Clock;
  readonly #marginMs: number;
  #refreshToken: string | undefined;
  #token: AccessToken | null = null;
  #initialRead = false;
  #rejected: string | null = null;
  #refreshing: Promise<AccessToken> | null = null;

  constructor(options: TokenSourceOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#marginMs = options.marginMs ?? 60_000;
    this.#refreshToken = options.refreshToken;
  }

  /** The refresh token in use in memory mode (changes only if the provider rotated it). */
  get refreshToken(): string | undefined {
    return this.#refreshToken;
  }

  #fresh(token: AccessToken | null | undefined): token is AccessToken {
    return !!token && token.accessToken !== this.#rejected &&
      this.#clock.now() < token.expiresAt - this.#marginMs;
  }

  /** A usable access token: memory, the initial token, the cache hook, else a refresh. */
  async token(): Promise<string> {
    if (this.#fresh(this.#token)) return this.#token.accessToken;
    if (!this.#initialRead) {
      this.#initialRead = true;
      const initial = typeof this.#options.initial === "function"
        ? await this.#options.initial()
        : this.#options.initial;
      if (this.#fresh(initial)) {
        this.#token = initial;
        return initial.accessToken;
      }
    }
    if (this.#options.getCached && !this.#refreshing) {
      const cached = await this.#options.getCached();
      if (this.#fresh(cached)) {
        this.#token = { accessToken: cached.accessToken, expiresAt: cached.expiresAt };
        return cached.accessToken;
      }
    }
    return (await this.#refresh()).accessToken;
  }

  /** After the provider rejected `rejected` (401): a different token, refreshed if need be. */
  async refreshAfterRejection(rejected: string): Promise<string> {
    this.#rejected = rejected;
    if (this.#token?.accessToken === rejected) this.#token = null;
    return (await (this.#refreshing ?? this.#refresh())).accessToken;
  }

  #refresh(): Promise<AccessToken> {
    this.#refreshing ??= (async () => {
      try {
        this.#token = this.#options.durable
          ? await this.#refreshDurably(this.#options.durable)
          : await this.#refreshInMemory();
        return this.#token;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async #refreshInMemory(): Promise<AccessToken> {
    if (!this.#refreshToken) {
      throw new ReauthRequiredError({
        status: null,
        reason: "missing_refresh_token",
        message: "No refresh token stored for this connection",
      });
    }
    this.refreshes++;
    const grant = await this.#options.grant(this.#refreshToken);
    if (grant.refreshToken) this.#refreshToken = grant.refreshToken;
    await this.#options.onGrant?.(grant);
    return { accessToken: grant.accessToken, expiresAt: grant.expiresAt };
  }

  async #refreshDurably(store: DurableTokenStore): Promise<AccessToken> {
    const sleep = this.#options.sleep ?? realSleep;
    const giveUpAt = this.#clock.monotonic() + (this.#options.busyTimeoutMs ?? 10_000);
    for (;;) {
      const start = await store.begin(this.#rejected);
      if (start.state === "fresh" && this.#fresh(start.token)) return start.token;
      if (start.state === "inactive") {
        throw new ReauthRequiredError({
          status: null,
          reason: `connection_${start.status}`,
          message: `The connection is ${start.status}; the user must connect it again`,
        });
      }
      if (start.state === "claimed") return await this.#refreshUnderClaim(store, start);
      if (this.#clock.monotonic() >= giveUpAt) {
        throw new ProviderApiError({
          kind: "server",
          status: null,
          reason: "token_refresh_busy",
          message: "Another process kept refreshing this connection's token",
        });
      }
      await sleep(start.state === "busy" ? start.retryInMs : 50);
    }
  }

  async #refreshUnderClaim(
    store: DurableTokenStore,
    start: { claim: string; refreshToken: string },
  ): Promise<AccessToken> {
    let grant: TokenGrant;
    try {
      this.refreshes++;
      grant = await this.#options.grant(start.refreshToken);
    } catch (error) {
      const reauth = error instanceof ReauthRequiredError;
      await store.abort(
        start.claim,
        error instanceof Error ? error.message : String(error),
        reauth,
      );
      throw error;
    }
    // Stored before anyone uses the new access token: a rotated refresh token is never lost.
    await store.finish(start.claim, grant);
    await this.#options.onGrant?.(grant);
    return { accessToken: grant.accessToken, expiresAt: grant.expiresAt };
  }
}
