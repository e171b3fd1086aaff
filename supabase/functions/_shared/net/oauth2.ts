// One RFC 6749 token request (authorization code or refresh token), or one RFC 7009 revocation,
// with HTTP Basic client authentication, for providers that have no well-kept SDK that fits the
// sync core (Calendly's form-encoded endpoint, Notion's JSON one). The answer becomes a TokenGrant (expiry measured
// from when the request started, by the injected clock); failures are classified once:
// invalid_grant → ReauthRequiredError (re-consent), invalid_client → ProviderConfigError
// (operator), 429 / 5xx / no response → retryable.
import { Buffer } from "node:buffer";
import { type Clock, systemClock } from "../clock.ts";
import type { TokenGrant } from "../sync/token_source.ts";
import {
  looksLikeNetworkError,
  parseRetryAfter,
  ProviderApiError,
  ProviderConfigError,
  ReauthRequiredError,
} from "./provider_error.ts";

export interface TokenEndpoint {
  provider: string;
  url: string;
  clientId: string;
  clientSecret: string;
  /** How the endpoint reads its body. */
  encoding: "form" | "json";
  fetch?: typeof fetch;
  clock?: Clock;
  /** Used when the answer has no expires_in (Notion's tokens may not expire). */
  fallbackExpiresInSeconds?: number;
  /** Headers the endpoint requires beside the client authentication (Notion-Version). */
  headers?: Record<string, string>;
}

export interface TokenAnswer extends TokenGrant {
  /** The whole answer, for provider-specific fields (Calendly's owner, Notion's bot_id). */
  raw: Record<string, unknown>;
}

const TEN_YEARS_S = 10 * 365 * 86_400;

/** One POST to an OAuth endpoint; failures classified (see the header). */
async function postToEndpoint(
  endpoint: Omit<TokenEndpoint, "fallbackExpiresInSeconds">,
  params: Record<string, string>,
): Promise<{ response: Response; body: Record<string, unknown> }> {
  const clock = endpoint.clock ?? systemClock;
  const basic = Buffer.from(`${endpoint.clientId}:${endpoint.clientSecret}`).toString("base64");
  let response: Response;
  try {
    response = await (endpoint.fetch ?? fetch)(endpoint.url, {
      method: "POST",
      headers: {
        ...endpoint.headers,
        authorization: `Basic ${basic}`,
        accept: "application/json",
        "content-type": endpoint.encoding === "form"
          ? "application/x-www-form-urlencoded"
          : "application/json",
      },
      body: endpoint.encoding === "form"
        ? new URLSearchParams(params).toString()
        : JSON.stringify(params),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    if (!looksLikeNetworkError(error)) throw error;
    throw new ProviderApiError({
      provider: endpoint.provider,
      kind: "network",
      status: null,
      reason: error instanceof DOMException ? "timeout" : null,
      message: `${endpoint.provider} OAuth endpoint unreachable: ${(error as Error).message}`,
    });
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { error: "invalid_response", error_description: text.slice(0, 200) };
  }
  if (!response.ok) {
    const code = typeof body.error === "string" ? body.error : null;
    const message = `${endpoint.provider} OAuth endpoint HTTP ${response.status}` +
      (code ? ` ${code}` : "") +
      (typeof body.error_description === "string" ? `: ${body.error_description}` : "");
    const init = { provider: endpoint.provider, status: response.status, reason: code, message };
    if (code === "invalid_grant") throw new ReauthRequiredError(init);
    if (code === "invalid_client" || code === "unauthorized_client") {
      throw new ProviderConfigError(message, init);
    }
    const retryable = response.status === 429 || response.status >= 500;
    throw new ProviderApiError({
      ...init,
      kind: response.status === 429 ? "rate_limited" : retryable ? "server" : "permanent",
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), clock.now()),
      body,
    });
  }
  return { response, body };
}

export async function requestToken(
  endpoint: TokenEndpoint,
  params: Record<string, string>,
): Promise<TokenAnswer> {
  const startedAt = (endpoint.clock ?? systemClock).now();
  const { response, body } = await postToEndpoint(endpoint, params);
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new ProviderApiError({
      provider: endpoint.provider,
      kind: "permanent",
      status: response.status,
      reason: "malformedTokenResponse",
      message: `${endpoint.provider} token response has no access_token`,
    });
  }
  const expiresIn = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    expiresAt: startedAt +
      (Number.isFinite(expiresIn) && expiresIn > 0
          ? expiresIn
          : endpoint.fallbackExpiresInSeconds ?? TEN_YEARS_S) * 1000,
    refreshToken: typeof body.refresh_token === "string" && body.refresh_token !== ""
      ? body.refresh_token
      : undefined,
    scope: typeof body.scope === "string" ? body.scope : null,
    raw: body,
  };
}

/**
 * RFC 7009 token revocation (revoking a refresh token ends the whole grant). A token the
 * server no longer knows is answered 200 as well, so a repeated revocation is not an error.
 */
export async function revokeToken(
  endpoint: Omit<TokenEndpoint, "fallbackExpiresInSeconds">,
  token: string,
): Promise<void> {
  await postToEndpoint(endpoint, { token });
}
