// Tiny fake of Google's token endpoint and Calendar API for unit tests (Deno.serve on port 0).
// Handlers are scripted per test; every request is recorded for assertions.
import type { GoogleConfig } from "../../../../supabase/functions/_shared/providers/google/mod.ts";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
}

export type Handler = (req: RecordedRequest) => Response | Promise<Response>;

export interface FakeGoogle {
  config: GoogleConfig;
  requests: RecordedRequest[];
  tokenRequests: () => RecordedRequest[];
  apiRequests: () => RecordedRequest[];
  setToken: (h: Handler) => void;
  setApi: (h: Handler) => void;
  close: () => Promise<void>;
}

/** Google's documented error envelope (Calendar "Handle API errors" guide). */
export function googleError(
  status: number,
  reason: string,
  message = reason,
  headers: HeadersInit = {},
): Response {
  return Response.json({
    error: { errors: [{ domain: "global", reason, message }], code: status, message },
  }, { status, headers });
}

/** A token handler that issues AT1, AT2, ... with the given lifetime. */
export function tokenSequence(expiresIn = 3599): Handler {
  let n = 0;
  return () =>
    Response.json({
      access_token: `AT${++n}`,
      expires_in: expiresIn,
      scope: "https://www.googleapis.com/auth/calendar",
      token_type: "Bearer",
    });
}

export function startFakeGoogle(opts: { prefix?: string } = {}): FakeGoogle {
  const requests: RecordedRequest[] = [];
  let token: Handler = tokenSequence();
  let api: Handler = () => Response.json({ items: [], nextSyncToken: "S" });
  const prefix = opts.prefix ?? "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const rec: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: await req.text(),
      };
      requests.push(rec);
      if (url.pathname === "/token") return await token(rec);
      if (url.pathname.startsWith(`${prefix}/calendar/v3/`)) return await api(rec);
      return new Response("not found", { status: 404 });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    config: {
      clientId: "client-id",
      clientSecret: "client-secret",
      oauthTokenUrl: `${base}/token`,
      oauthRevokeUrl: `${base}/revoke`,
      calendarApiUrl: `${base}${prefix}/`,
    },
    requests,
    tokenRequests: () => requests.filter((r) => r.path === "/token"),
    apiRequests: () => requests.filter((r) => r.path !== "/token"),
    setToken: (h) => token = h,
    setApi: (h) => api = h,
    close: () => server.shutdown(),
  };
}

/** Deterministic sleep/random for backoff tests: sleeps are recorded, never awaited. */
export function fakeTimers(randomValue = 0.5) {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: (ms: number) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    random: () => randomValue,
  };
}
