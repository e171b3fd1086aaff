// One JSON request to a REST provider (Calendly, Notion) with a bearer token: builds the URL,
// sends, reads the body, and hands non-2xx answers to the provider's classifier, so the caller
// gets data or a classified ProviderApiError. Retries and token refresh belong to
// authorizedCall (net/authorized_call.ts), which wraps this.
import { looksLikeNetworkError, ProviderApiError } from "./provider_error.ts";

export type ErrorClassifier = (
  status: number,
  body: unknown,
  headers: Headers,
) => ProviderApiError;

export interface JsonRequest {
  provider: string;
  /** Absolute URL, or a path joined to `baseUrl`. */
  url: string;
  baseUrl?: string;
  method?: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
  headers?: Record<string, string>;
  accessToken: string;
  classify: ErrorClassifier;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface JsonResponse<T> {
  status: number;
  data: T;
  headers: Headers;
}

export function buildUrl(
  url: string,
  baseUrl: string | undefined,
  query: JsonRequest["query"] = {},
): URL {
  const full = /^https?:\/\//.test(url)
    ? new URL(url)
    : new URL(url.replace(/^\/+/, ""), (baseUrl ?? "").replace(/\/*$/, "/"));
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) full.searchParams.set(key, String(value));
  }
  return full;
}

export async function sendJson<T>(request: JsonRequest): Promise<JsonResponse<T>> {
  const url = buildUrl(request.url, request.baseUrl, request.query);
  let response: Response;
  try {
    response = await (request.fetch ?? fetch)(url, {
      method: request.method ?? "GET",
      headers: {
        authorization: `Bearer ${request.accessToken}`,
        accept: "application/json",
        ...(request.body !== undefined ? { "content-type": "application/json" } : {}),
        ...request.headers,
      },
      body: request.body !== undefined ? JSON.stringify(request.body) : undefined,
      signal: AbortSignal.timeout(request.timeoutMs ?? 30_000),
    });
  } catch (error) {
    if (!looksLikeNetworkError(error)) throw error;
    throw new ProviderApiError({
      provider: request.provider,
      kind: "network",
      status: null,
      reason: error instanceof DOMException ? "timeout" : null,
      message: `${request.provider} request failed without a response: ${(error as Error).message}`,
    });
  }
  const text = await response.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) throw request.classify(response.status, data, response.headers);
  return { status: response.status, data: data as T, headers: response.headers };
}
