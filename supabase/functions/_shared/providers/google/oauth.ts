// Google OAuth token endpoint: refresh-token grant and authorization-code exchange.
//
// Uses google-auth-library's OAuth2Client (with `endpoints.oauth2TokenUrl` pointing at Google or
// an emulator) but owns the decisions the library makes poorly for us:
//  - gaxios' built-in retries are switched off (they sleep on real timers, retry POSTs blindly and
//    cannot be observed); callers use `withBackoff` instead.
//  - expiry is computed from the wire `expires_in` against an injected clock, not Date.now().
//  - every failure becomes a classified GoogleApiError (invalid_grant → ReauthRequiredError,
//    invalid_client → GoogleConfigError, 5xx/network → retryable).

import { OAuth2Client } from "google-auth-library";
import { type Clock, systemClock } from "../../clock.ts";
import type { GoogleConfig } from "./config.ts";
import { GoogleApiError, ReauthRequiredError, toGoogleApiError } from "./errors.ts";

export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export interface GoogleTransportOptions {
  /** Defaults to Deno's global fetch (see `createOAuth2Client` for why it is always passed). */
  fetch?: FetchLike;
  /** Per-request timeout; a timeout is a retryable "network" error. Default 30 000 ms; 0 = none. */
  timeoutMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Non-enumerable stash for the raw `expires_in` (the library deletes it from the response). */
const EXPIRES_IN = Symbol("expiresIn");

/**
 * An OAuth2Client wired for Deno:
 * - `fetchImplementation` is given explicitly: gaxios picks `window.fetch` only when `window`
 *   exists (it does not in Deno 2) and otherwise dynamically imports `node-fetch`, which would run
 *   on Deno's node:http polyfill. Passing Deno's fetch keeps one native HTTP stack and lets tests
 *   inject a fake.
 * - a request interceptor disables gaxios retries for every request (token and API calls alike).
 * - a response interceptor keeps the wire `expires_in` before the library converts it to a
 *   wall-clock `expiry_date`.
 */
export function createOAuth2Client(
  config: GoogleConfig,
  options: GoogleTransportOptions = {},
): OAuth2Client {
  const timeout = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));
  const client = new OAuth2Client({
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    endpoints: { oauth2TokenUrl: config.oauthTokenUrl, oauth2RevokeUrl: config.oauthRevokeUrl },
    transporterOptions: {
      fetchImplementation: fetchImpl,
      ...(timeout > 0 ? { timeout } : {}),
    },
  });
  client.transporter.interceptors.request.add({
    resolved: (opts) => {
      opts.retry = false;
      opts.retryConfig = { ...opts.retryConfig, retry: 0 };
      return Promise.resolve(opts);
    },
  });
  client.transporter.interceptors.response.add({
    resolved: (res) => {
      const data = res.data as unknown;
      if (data && typeof data === "object" && "expires_in" in data) {
        const seconds = Number((data as { expires_in: unknown }).expires_in);
        if (Number.isFinite(seconds)) {
          Object.defineProperty(data, EXPIRES_IN, { value: seconds, enumerable: false });
        }
      }
      return Promise.resolve(res);
    },
  });
  return client;
}

export interface AccessTokenGrant {
  accessToken: string;
  /** Epoch ms by the injected clock. */
  expiresAt: number;
  /** Space-delimited scopes actually granted, if Google said. */
  scope: string | null;
  /**
   * Google does not rotate refresh tokens, so this is normally absent on refresh. If a response
   * ever carries one, it is surfaced here and the caller must persist it.
   */
  refreshToken?: string;
}

export interface AuthorizationCodeGrant {
  /**
   * Null when Google did not issue one (consent given earlier without `prompt=consent`);
   * the caller should then keep the refresh token it already has or re-run consent.
   */
  refreshToken: string | null;
  accessToken: string;
  expiresAt: number;
  scope: string | null;
}

/** Used only if a token response lacks `expires_in` (Google always sends it; ~3599 s observed). */
const FALLBACK_EXPIRES_IN_S = 3599;

interface RawTokens {
  access_token?: string | null;
  refresh_token?: string | null;
  scope?: string;
  expiry_date?: number | null;
}

export interface GoogleOAuthOptions extends GoogleTransportOptions {
  config: GoogleConfig;
  clock?: Clock;
  /** Reuse an existing client (the calendar client shares one for refresh and API calls). */
  client?: OAuth2Client;
}

export class GoogleOAuth {
  readonly client: OAuth2Client;
  readonly #clock: Clock;

  constructor(options: GoogleOAuthOptions) {
    this.client = options.client ?? createOAuth2Client(options.config, options);
    this.#clock = options.clock ?? systemClock;
  }

  #expiresAt(tokens: RawTokens, startedAt: number): number {
    const raw = (tokens as Record<symbol, unknown>)[EXPIRES_IN];
    let seconds = typeof raw === "number" ? raw : null;
    if (seconds === null && typeof tokens.expiry_date === "number") {
      seconds = Math.round((tokens.expiry_date - Date.now()) / 1000);
    }
    return startedAt + (seconds ?? FALLBACK_EXPIRES_IN_S) * 1000;
  }

  #requireAccessToken(tokens: RawTokens): string {
    if (typeof tokens.access_token !== "string" || tokens.access_token === "") {
      throw new GoogleApiError({
        kind: "permanent",
        status: 200,
        reason: "malformedTokenResponse",
        message: "Google token response has no access_token",
      });
    }
    return tokens.access_token;
  }

  /** One refresh-token grant. Single attempt: wrap in `withBackoff` for retries. */
  async refreshAccessToken(refreshToken: string): Promise<AccessTokenGrant> {
    if (!refreshToken) {
      throw new ReauthRequiredError({
        provider: "google",
        status: null,
        reason: "missing_refresh_token",
        message: "No refresh token stored for this connection",
      });
    }
    // Measure expiry from when the request started: the token can be older than the response.
    const startedAt = this.#clock.now();
    let tokens: RawTokens;
    try {
      // `refreshToken` is protected in the typings but is the only call that takes the refresh
      // token as an argument without mutating the client's credentials (and it de-duplicates
      // concurrent refreshes of the same token).
      const r = await (this.client as unknown as {
        refreshToken(token: string): Promise<{ tokens: RawTokens }>;
      }).refreshToken(refreshToken);
      tokens = r.tokens;
    } catch (e) {
      throw toGoogleApiError(e, this.#clock.now());
    }
    const grant: AccessTokenGrant = {
      accessToken: this.#requireAccessToken(tokens),
      expiresAt: this.#expiresAt(tokens, startedAt),
      scope: typeof tokens.scope === "string" ? tokens.scope : null,
    };
    if (typeof tokens.refresh_token === "string" && tokens.refresh_token !== refreshToken) {
      grant.refreshToken = tokens.refresh_token;
    }
    return grant;
  }

  /**
   * Revokes a grant (a refresh token, or an access token: either ends the whole grant) at
   * GOOGLE_OAUTH_REVOKE_URL. Google answers 400 invalid_token for a token it no longer knows,
   * which is what a repeated revocation looks like: reported, not thrown.
   */
  async revokeToken(token: string): Promise<{ alreadyRevoked: boolean }> {
    try {
      await this.client.revokeToken(token);
      return { alreadyRevoked: false };
    } catch (e) {
      const error = toGoogleApiError(e, this.#clock.now());
      if (error.status === 400) return { alreadyRevoked: true };
      throw error;
    }
  }

  /**
   * Exchanges an authorization code (single-use) for tokens. Never retried automatically: if the
   * first attempt reached Google, a retry fails with invalid_grant and hides the real outcome.
   */
  async exchangeAuthorizationCode(
    code: string,
    redirectUri: string,
    options: { codeVerifier?: string } = {},
  ): Promise<AuthorizationCodeGrant> {
    const startedAt = this.#clock.now();
    let tokens: RawTokens;
    try {
      const r = await this.client.getToken({
        code,
        redirect_uri: redirectUri,
        codeVerifier: options.codeVerifier,
      });
      tokens = r.tokens;
    } catch (e) {
      throw toGoogleApiError(e, this.#clock.now());
    }
    return {
      refreshToken: typeof tokens.refresh_token === "string" && tokens.refresh_token
        ? tokens.refresh_token
        : null,
      accessToken: this.#requireAccessToken(tokens),
      expiresAt: this.#expiresAt(tokens, startedAt),
      scope: typeof tokens.scope === "string" ? tokens.scope : null,
    };
  }
}
